import assert from "node:assert/strict";
import fc from "fast-check";
import { DEV_SCRIPT_ATTRIBUTE, devSnippet, injectClient, readDevPosition } from "./inject.ts";

const S = "<script data-x></script>";

const cases: [string, string, string][] = [
  [
    "a normal page",
    "<!doctype html>\n<html><head><title>t</title></head><body><p>hi</p></body></html>",
    `<!doctype html>\n<html><head><title>t</title>${S}</head><body><p>hi</p></body></html>`,
  ],
  [
    "a page without a head",
    "<html><body><p>hi</p></body></html>",
    `<html><body><p>hi</p>${S}</body></html>`,
  ],
  ["a page without head or body", "<p>hi</p>", `<p>hi</p>${S}`],
  ["empty input", "", S],
  [
    "uppercase tags",
    "<HTML><HEAD><TITLE>t</TITLE></HEAD><BODY></BODY></HTML>",
    `<HTML><HEAD><TITLE>t</TITLE>${S}</HEAD><BODY></BODY></HTML>`,
  ],
  [
    "an end tag with whitespace before >",
    "<head><meta charset=utf-8></head\n><body></body>",
    `<head><meta charset=utf-8>${S}</head\n><body></body>`,
  ],
  [
    "</head> in a comment before the real one",
    "<head><!-- old </head> --><meta></head><body></body>",
    `<head><!-- old </head> --><meta>${S}</head><body></body>`,
  ],
  [
    "</head> in a script string before the real one",
    `<head><script>document.write("</head>")</script></head><body></body>`,
    `<head><script>document.write("</head>")</script>${S}</head><body></body>`,
  ],
  [
    "</head> in a textarea before the real one",
    "<head></HEAD><body><textarea></head></body></textarea></body>",
    `<head>${S}</HEAD><body><textarea></head></body></textarea></body>`,
  ],
  [
    "</body> only inside a textarea, and a real one after",
    "<body><textarea></body></TEXTAREA ></body>",
    `<body><textarea></body></TEXTAREA >${S}</body>`,
  ],
  [
    "</head> in CDATA, an attribute and a <!…> declaration",
    `<head><![CDATA[</head>]]><a title="</head>" b='</head>'><!x </head></head>`,
    `<head><![CDATA[</head>]]><a title="</head>" b='</head>'><!x </head>${S}</head>`,
  ],
  [
    "a script whose end tag is uppercase and has whitespace",
    "<head><script>x = '</head>'</SCRIPT\t></head>",
    `<head><script>x = '</head>'</SCRIPT\t>${S}</head>`,
  ],
  [
    "</header> and <head> (a start tag)",
    "<header><head></header></head>",
    `<header><head></header>${S}</head>`,
  ],
  [
    "an unterminated comment",
    "<body><!-- </body>",
    `<body><!-- </body>${S}`,
  ],
  [
    "a page with a BOM",
    "\uFEFF<html><head></head></html>",
    `\uFEFF<html><head>${S}</head></html>`,
  ],
  ["a page with a BOM and no tags", "\uFEFFhello", `\uFEFFhello${S}`],
  [
    "short comments <!--> and <!--->",
    "<!--></head><!---></head>",
    `<!-->${S}</head><!---></head>`,
  ],
];

for (const [what, input, expected] of cases) {
  Deno.test(`injectClient() handles ${what}`, () => {
    assert.equal(injectClient(input, S), expected);
  });
}

Deno.test("injectClient() inserts the snippet once, before </head>, </body> or at the end", () => {
  const token = fc.constantFrom(
    "<head>",
    "</head>",
    "</HEAD >",
    "<body>",
    "</body>",
    "</Body>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<script>",
    "</script>",
    "<textarea>",
    "</textarea>",
    "<style>",
    "</style>",
    "<a title=",
    '"',
    "'",
    "<",
    ">",
    "/",
    "=",
    " ",
    "\n",
    "x",
    "\uFEFF",
    "é",
    "İ",
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 40 }).map((t) => t.join("")), (input) => {
      const out = injectClient(input, S);
      const at = out.indexOf(S);
      assert.equal(out.indexOf(S, at + 1), -1, "the snippet appears once");
      assert.equal(out.slice(0, at) + out.slice(at + S.length), input);
      const rest = out.slice(at + S.length);
      assert.ok(rest === "" || /^<\/(head|body)[\s/>]/i.test(rest), rest);
    }),
    { seed: 20240607, numRuns: 2000 },
  );
});

Deno.test("devSnippet() writes a module script carrying the position", () => {
  assert.deepEqual(
    devSnippet({ clientUrl: "/switchyard/dev.js", position: { offset: 12, epoch: "a1b2" } }),
    '<script type="module" src="/switchyard/dev.js" data-switchyard-dev data-offset="12" ' +
      'data-epoch="a1b2"></script>',
  );
  assert.deepEqual(
    devSnippet({ clientUrl: "/switchyard/dev.js", position: null }),
    '<script type="module" src="/switchyard/dev.js" data-switchyard-dev></script>',
  );
});

Deno.test("devSnippet() escapes attribute values", () => {
  assert.deepEqual(
    devSnippet({ clientUrl: '/a?b=1&c="2"', position: { offset: 0, epoch: "<x>" } }),
    '<script type="module" src="/a?b=1&amp;c=&quot;2&quot;" data-switchyard-dev data-offset="0" ' +
      'data-epoch="&lt;x&gt;"></script>',
  );
});

Deno.test("readDevPosition() reads what devSnippet() wrote, and null when absent or malformed", () => {
  const attrsOf = (html: string) => {
    const attrs: Record<string, string> = {};
    for (const m of html.matchAll(/([\w-]+)="([^"]*)"/g)) attrs[m[1]] = m[2];
    return { getAttribute: (name: string) => attrs[name] ?? null };
  };
  const position = { offset: 7, epoch: "e9" };
  const tag = devSnippet({ clientUrl: "/switchyard/dev.js", position });
  assert.ok(tag.includes(` ${DEV_SCRIPT_ATTRIBUTE} `));
  assert.deepEqual(readDevPosition(attrsOf(tag)), position);
  assert.deepEqual(
    readDevPosition(attrsOf(devSnippet({ clientUrl: "/d.js", position: null }))),
    null,
  );
  assert.deepEqual(readDevPosition(attrsOf('data-offset="-1" data-epoch="e"')), null);
  assert.deepEqual(readDevPosition(attrsOf('data-offset="1.5" data-epoch="e"')), null);
});

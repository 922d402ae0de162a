import assert from "node:assert/strict";
import fc from "fast-check";
import { docAccess } from "./access.ts";

Deno.test("docAccess() gives anonymous clients the anonymous access", () => {
  assert.equal(docAccess(undefined, "notes/alice", "rw"), "rw");
  assert.equal(docAccess(undefined, "notes/alice", "r"), "r");
  assert.equal(docAccess(undefined, "notes/alice", "none"), "none");
});

Deno.test("docAccess() grants an exact name and nothing else", () => {
  const claims = { docs: { "notes/alice": "rw" } };
  assert.equal(docAccess(claims, "notes/alice", "rw"), "rw");
  assert.equal(docAccess(claims, "notes/alice2", "rw"), "none");
  assert.equal(docAccess(claims, "notes/alic", "rw"), "none");
  assert.equal(docAccess(claims, "Notes/alice", "rw"), "none");
});

Deno.test("docAccess() grants by prefix, and the longest prefix wins", () => {
  const claims = { docs: { "team/*": "r", "team/eng/*": "rw", "*": "r" } };
  assert.equal(docAccess(claims, "team/plan", "none"), "r");
  assert.equal(docAccess(claims, "team/eng/roadmap", "none"), "rw");
  assert.equal(docAccess(claims, "team/eng/", "none"), "rw");
  assert.equal(docAccess(claims, "team/", "none"), "r");
  assert.equal(docAccess(claims, "elsewhere", "none"), "r");
  // Order in the claim does not matter.
  const reversed = { docs: { "*": "r", "team/eng/*": "rw", "team/*": "r" } };
  assert.equal(docAccess(reversed, "team/eng/roadmap", "none"), "rw");
});

Deno.test("docAccess() prefers an exact name over a longer prefix pattern", () => {
  const claims = { docs: { "team/a": "r", "team/a*": "rw" } };
  assert.equal(docAccess(claims, "team/a", "none"), "r");
  assert.equal(docAccess(claims, "team/ab", "none"), "rw");
});

Deno.test("docAccess() gives a token without a matching grant no access", () => {
  assert.equal(docAccess({}, "doc", "rw"), "none");
  assert.equal(docAccess({ sub: "u1" }, "doc", "rw"), "none");
  assert.equal(docAccess({ docs: {} }, "doc", "rw"), "none");
  assert.equal(docAccess({ docs: { "other": "rw" } }, "doc", "rw"), "none");
});

Deno.test("docAccess() treats a malformed docs claim as no access", () => {
  for (
    const docs of [
      null,
      "rw",
      42,
      true,
      ["doc"],
      { doc: "w" },
      { doc: "RW" },
      { doc: "none" },
      { doc: 1 },
      { doc: null },
      { doc: "rw", other: "write" },
      { other: "write", doc: "rw" },
    ]
  ) {
    assert.equal(docAccess({ docs }, "doc", "rw"), "none", JSON.stringify(docs));
  }
});

Deno.test("docAccess() ignores inherited properties of the claim", () => {
  const docs = Object.create({ doc: "rw" });
  assert.equal(docAccess({ docs }, "doc", "rw"), "none");
  assert.equal(docAccess({ docs: { "team/*": "r" } }, "constructor", "rw"), "none");
  assert.equal(docAccess(JSON.parse('{"docs":{"__proto__":"rw"}}'), "__proto__", "none"), "rw");
});

Deno.test("docAccess() result is always a grant of a matching pattern, or none", () => {
  const grant = fc.constantFrom("rw", "r");
  const name = fc.string({ unit: fc.constantFrom("a", "b", "/"), maxLength: 5 });
  const pattern = fc.oneof(name, name.map((n) => `${n}*`));
  fc.assert(
    fc.property(fc.dictionary(pattern, grant), name, (docs, doc) => {
      const access = docAccess({ docs }, doc, "rw");
      const matching = Object.entries(docs).filter(([p]) =>
        p === doc || (p.endsWith("*") && doc.startsWith(p.slice(0, -1)))
      );
      if (matching.length === 0) return access === "none";
      // The winner is the exact name if present, else the longest pattern.
      matching.sort(([a], [b]) => (a === doc ? -1 : b === doc ? 1 : b.length - a.length));
      return access === matching[0][1];
    }),
  );
});

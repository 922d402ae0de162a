/**
 * Finds Chromium for the end-to-end tests, installing Debian's package when
 * it is missing and we are root.
 *
 * @module
 */

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], say: (line: string) => void): Promise<void> {
  say(`$ ${cmd} ${args.join(" ")}`);
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${err}`);
  }
}

/**
 * The path of a Chromium executable: `$SWITCHYARD_CHROMIUM`, one already
 * installed, or Debian's `chromium` installed now with apt-get (root only).
 */
export async function ensureChromium(say: (line: string) => void): Promise<string> {
  const configured = Deno.env.get("SWITCHYARD_CHROMIUM");
  if (configured) {
    if (await exists(configured)) return configured;
    throw new Error(`SWITCHYARD_CHROMIUM=${configured} does not exist: fix the path or unset it`);
  }
  for (const path of CANDIDATES) if (await exists(path)) return path;
  if (Deno.uid() !== 0) {
    throw new Error(
      "Chromium is missing and installing it needs root: run `sudo apt-get install -y chromium` " +
        "or set SWITCHYARD_CHROMIUM to a Chromium executable",
    );
  }
  say("Chromium is missing: installing Debian's chromium package (a few minutes, once)");
  await run("apt-get", ["update", "-q"], say);
  await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", "chromium"], say);
  if (await exists("/usr/bin/chromium")) return "/usr/bin/chromium";
  throw new Error("apt-get installed chromium but /usr/bin/chromium is not there");
}

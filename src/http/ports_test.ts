import assert from "node:assert/strict";
import { bindPort, PortInUseError } from "./ports.ts";
import { memoryLogger } from "./_testing.ts";

const inUse = (taken: Set<number>) => (port: number) => {
  if (taken.has(port)) throw new Deno.errors.AddrInUse("Address already in use");
  return port;
};

Deno.test("bindPort() takes the next free port and says so", () => {
  const log = memoryLogger();
  const port = bindPort(
    { port: 4433, strictPort: false, flag: "--port", log },
    inUse(new Set([4433, 4434])),
  );
  assert.equal(port, 4435);
  assert.deepEqual(log.lines, [{
    level: "warn",
    msg: "Port 4433 is in use: serving on 4435 instead",
  }]);
});

Deno.test("bindPort() with strictPort throws a PortInUseError naming the fix", () => {
  assert.throws(
    () =>
      bindPort(
        { port: 4433, strictPort: true, flag: "--port", log: memoryLogger() },
        inUse(new Set([4433])),
      ),
    (e: PortInUseError) =>
      e instanceof PortInUseError && e.port === 4433 && e.code === "ERR_PORT_IN_USE" &&
      e.message === "Port 4433 is in use: stop the other process or pass --port",
  );
});

Deno.test("bindPort() gives up after 20 ports", () => {
  const all = new Set(Array.from({ length: 20 }, (_, i) => 5000 + i));
  assert.throws(
    () =>
      bindPort(
        { port: 5000, strictPort: false, flag: "--http-port", log: memoryLogger() },
        inUse(all),
      ),
    /^PortInUseError: Ports 5000 to 5019 are in use: stop the other processes or pass --http-port$/,
  );
});

Deno.test("bindPort() retries port 0 and passes other errors through", () => {
  let calls = 0;
  const port = bindPort({ port: 0, strictPort: true, flag: "--port", log: memoryLogger() }, () => {
    if (++calls < 3) throw new Deno.errors.AddrInUse("udp side taken");
    return 1234;
  });
  assert.equal(port, 1234);
  assert.throws(
    () =>
      bindPort({ port: 80, strictPort: false, flag: "--port", log: memoryLogger() }, () => {
        throw new Deno.errors.PermissionDenied("nope");
      }),
    Deno.errors.PermissionDenied,
  );
});

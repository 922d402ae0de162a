// Wire protocols spoken by load.mjs over a raw `ws` socket.
//
// Each protocol has a `path` and two roles. A role gets `conn` ({ send, ready,
// fail, deliver }) and the channel, and returns { open(), message(text) }. A
// subscriber calls `conn.ready()` once subscribed and `conn.deliver(data)` per
// publication; a publisher calls `conn.ready()` once it may publish and sets
// `conn.publish(data)`, which resolves when the server acknowledges it.

/** Pending acknowledgements by request id. */
function acks() {
  const pending = new Map();
  let next = 0;
  return {
    add() {
      next += 1;
      const id = next;
      return { id, done: new Promise((resolve, reject) => pending.set(id, { resolve, reject })) };
    },
    settle(id, error) {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (error) p.reject(new Error(error));
      else p.resolve();
    },
  };
}

/** Switchyard: JSON frames, docs/protocol.md. */
const switchyard = {
  path: "/switchyard/ws",
  subscriber(conn, channel) {
    return {
      open: () => conn.send(JSON.stringify({ type: "connect", id: 1, subs: { [channel]: {} } })),
      message(text) {
        const f = JSON.parse(text);
        if (f.type === "pub") conn.deliver(f.data);
        else if (f.type === "ping") conn.send('{"type":"pong"}');
        else if (f.type === "connected") {
          if (f.subs?.[channel]) conn.ready();
          else conn.fail(`not subscribed: ${text}`);
        } else if (f.type === "unsubscribed" || f.type === "disconnect") conn.fail(text);
      },
    };
  },
  publisher(conn, channel) {
    const pending = acks();
    let seq = 0;
    conn.publish = (data) => {
      const { id, done } = pending.add();
      seq += 1;
      conn.send(JSON.stringify({ type: "publish", id, seq, channel, data }));
      return done;
    };
    return {
      open: () => conn.send('{"type":"connect","id":0}'),
      message(text) {
        const f = JSON.parse(text);
        if (f.type === "reply") pending.settle(f.id, f.error && JSON.stringify(f.error));
        else if (f.type === "ping") conn.send('{"type":"pong"}');
        else if (f.type === "connected") conn.ready();
        else if (f.type === "disconnect") conn.fail(text);
      },
    };
  },
};

/**
 * Socket.IO v5 over Engine.IO v4, WebSocket transport only: "0{…}" open,
 * "40" connect, "42[…]" event, "42<id>[…]" event with ack, "43<id>[…]" ack,
 * "2" ping answered by "3".
 */
function socketioHandshake(conn, onConnected) {
  return (text) => {
    if (text === "2") conn.send("3");
    else if (text[0] === "0") conn.send("40");
    else if (text.startsWith("40")) onConnected();
    else if (text.startsWith("44") || text.startsWith("41")) conn.fail(text);
    else return false;
    return true;
  };
}

const socketio = {
  path: "/socket.io/?EIO=4&transport=websocket",
  subscriber(conn, channel) {
    const handshake = socketioHandshake(conn, () => conn.send(`421["subscribe","${channel}"]`));
    return {
      open() {},
      message(text) {
        if (text.startsWith("42[")) {
          const [event, data] = JSON.parse(text.slice(2));
          if (event === "pub") conn.deliver(data);
        } else if (text.startsWith("431[")) conn.ready();
        else handshake(text);
      },
    };
  },
  publisher(conn, channel) {
    const pending = acks();
    conn.publish = (data) => {
      const { id, done } = pending.add();
      conn.send(`42${id}${JSON.stringify(["publish", channel, data])}`);
      return done;
    };
    const handshake = socketioHandshake(conn, () => conn.ready());
    return {
      open() {},
      message(text) {
        if (text.startsWith("43")) pending.settle(Number(/^43(\d+)/.exec(text)[1]));
        else handshake(text);
      },
    };
  },
};

/** The bare Deno floor: every message is forwarded to every other socket. */
const bare = {
  path: "/",
  subscriber(conn) {
    return { open: () => conn.ready(), message: (text) => conn.deliver(JSON.parse(text)) };
  },
  publisher(conn) {
    conn.publish = (data) => {
      conn.send(JSON.stringify(data));
      return Promise.resolve();
    };
    return { open: () => conn.ready(), message() {} };
  },
};

export const PROTOCOLS = { switchyard, socketio, bare };

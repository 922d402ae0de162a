// Tab sync: every page is a "device"; the tabs of all devices live in one Y.Map,
// kept in sync by Switchyard over the best transport the browser has.
import { Awareness, SwitchyardClient, SwitchyardYjsProvider, Y } from "/switchyard/yjs.js";

const DOC = new URLSearchParams(location.search).get("doc") ?? "tabs/demo";

// A device id per page (kept across reloads of the same tab).
let device = sessionStorage.getItem("tab-sync:device");
if (!device) {
  device = `device-${crypto.randomUUID().slice(0, 6)}`;
  sessionStorage.setItem("tab-sync:device", device);
}

const client = new SwitchyardClient(location.origin);
const doc = new Y.Doc();
// Awareness says which devices are online right now (it rides on the channel's presence).
const awareness = new Awareness(doc);
awareness.setLocalStateField("device", device);
const provider = new SwitchyardYjsProvider(client, DOC, doc, { awareness });
// Key `${device}/${tabId}` → { device, title, url, opened }.
const tabs = doc.getMap("tabs");

const $ = (id) => document.getElementById(id);
$("me").textContent = device;

function online() {
  return new Set([...awareness.getStates().values()].map((state) => state.device));
}

function render() {
  const live = online();
  const byDevice = new Map();
  for (const [key, tab] of tabs) {
    if (!byDevice.has(tab.device)) byDevice.set(tab.device, []);
    byDevice.get(tab.device).push([key, tab]);
  }
  for (const name of [device, ...live]) if (name && !byDevice.has(name)) byDevice.set(name, []);
  const sections = [...byDevice].sort((
    [a],
    [b],
  ) => (a === device ? -1 : b === device ? 1 : a.localeCompare(b)))
    .map(([name, entries]) => {
      const section = document.createElement("section");
      section.dataset.device = name;
      if (name === device) section.className = "mine";
      const h2 = document.createElement("h2");
      h2.textContent = name === device
        ? `${name} (this page)`
        : `${name}${live.has(name) ? " · online" : ""}`;
      const list = document.createElement("ul");
      entries.sort(([, a], [, b]) => a.opened - b.opened);
      for (const [key, tab] of entries) {
        const li = document.createElement("li");
        li.dataset.key = key;
        const link = document.createElement("a");
        link.textContent = tab.title;
        if (/^https?:\/\//.test(tab.url)) link.href = tab.url;
        li.append(link);
        if (name === device) {
          const close = document.createElement("button");
          close.textContent = "close";
          close.onclick = () => tabs.delete(key);
          li.append(close);
        }
        list.append(li);
      }
      if (entries.length === 0) {
        const p = document.createElement("p");
        p.className = "empty";
        p.textContent = "No tabs.";
        section.append(h2, p);
      } else section.append(h2, list);
      return section;
    });
  $("devices").replaceChildren(...sections);
}

tabs.observe(render);
awareness.on("change", render);
render();

$("open-tab").addEventListener("submit", (event) => {
  event.preventDefault();
  const title = $("title").value.trim();
  if (!title) return;
  tabs.set(`${device}/${crypto.randomUUID().slice(0, 8)}`, {
    device,
    title,
    url: $("url").value.trim(),
    opened: Date.now(),
  });
  $("title").value = "";
  $("url").value = "";
});

$("forget").addEventListener("click", () => {
  doc.transact(() => {
    for (const key of [...tabs.keys()]) if (key.startsWith(`${device}/`)) tabs.delete(key);
  });
});

let synced = false;
const showState = () => {
  $("state").textContent = !synced
    ? "loading…"
    : client.state === "connected"
    ? `synced over ${client.transport}${provider.access === "r" ? " (read-only)" : ""}`
    : client.state;
};
client.on("state", showState);
client.on("upgrade", showState);
provider.synced.then(() => {
  synced = true;
  showState();
}, (err) => $("state").textContent = `cannot sync: ${err.message}`);

// For tests and the console.
globalThis.tabSync = { client, doc, provider, tabs, device, awareness };

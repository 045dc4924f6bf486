const hooksKey = "__KEYSCAN_MBK_svelte_hooks_server__";

export async function handle({ event, resolve }) {
  await fetch("https://api.example.com/audit", { headers: { "x-api-key": hooksKey } }).catch(() => null);
  return resolve(event);
}

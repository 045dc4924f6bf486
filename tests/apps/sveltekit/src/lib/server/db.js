// $lib/server: SvelteKit refuses to import this from client code.
const dbKey = "__KEYSCAN_MBK_svelte_lib_server__";

export async function countRows() {
  const res = await fetch("https://api.example.com/rows", { headers: { "x-api-key": dbKey } });
  return res.ok ? 1 : 0;
}

import { MINIBACK_API_KEY } from "$env/static/private";
import { countRows } from "$lib/server/db.js";

const pageServerKey = "__KEYSCAN_MBK_svelte_page_server__";

export async function load() {
  const res = await fetch("https://api.example.com/count", {
    headers: { "x-api-key": pageServerKey, "x-env": MINIBACK_API_KEY },
  }).catch(() => null);
  return { count: res ? await countRows() : 0 };
}

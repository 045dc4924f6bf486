// Pages-router API route: server only.
const apiRouteKey = "__KEYSCAN_MBK_next_pages_api_route__";

export default async function handler(_req: unknown, res: { json: (v: unknown) => void }) {
  const r = await fetch("https://api.example.com/hello", { headers: { "x-api-key": apiRouteKey } }).catch(() => null);
  res.json({ ok: Boolean(r) });
}

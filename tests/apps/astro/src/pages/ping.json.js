// An endpoint: runs at build time (static) or on the server.
const endpointKey = "__KEYSCAN_MBK_astro_endpoint__";

export async function GET() {
  const res = await fetch("https://api.example.com/ping", { headers: { "x-api-key": endpointKey } }).catch(() => null);
  return new Response(JSON.stringify({ ok: Boolean(res) }));
}

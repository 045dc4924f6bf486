const endpointKey = "__KEYSCAN_MBK_svelte_endpoint__";

export async function GET() {
  const res = await fetch("https://api.example.com/ping", { headers: { "x-api-key": endpointKey } });
  return new Response(String(res.ok));
}

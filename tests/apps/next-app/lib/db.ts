import "server-only";

const serverOnlyKey = "__KEYSCAN_MBK_next_server_only_module__";

export async function listOrders(): Promise<string[]> {
  const res = await fetch("https://api.example.com/orders", { headers: { "x-api-key": serverOnlyKey } }).catch(() => null);
  return res ? ["one"] : [];
}

// A server component: its code runs on the server only.
import { listOrders } from "../lib/db";

const serverComponentKey = "__KEYSCAN_MBK_next_server_component__";

export const dynamic = "force-dynamic";

export default async function Home() {
  const res = await fetch("https://api.example.com/stats", { headers: { "x-api-key": serverComponentKey } }).catch(() => null);
  const orders = await listOrders();
  return <p>{res ? "up" : "down"} {orders.length}</p>;
}

// A route handler: server only.
import { stripeHeaders } from "@/lib/stripe";

const routeHandlerKey = "__KEYSCAN_MBK_next_route_handler__";

export async function POST() {
  const res = await fetch("https://api.example.com/charge", {
    method: "POST",
    headers: { ...stripeHeaders(), "x-api-key": routeHandlerKey, "x-secret": process.env.URBACKEND_SECRET_KEY ?? "" },
  });
  return Response.json({ ok: res.ok });
}

"use client";

import { stripeKey } from "@/lib/stripe";
import { saveCart } from "../app/actions";

const clientComponentKey = "__KEYSCAN_MBK_next_use_client__";

export default function CheckoutButton() {
  const pay = () =>
    fetch("https://api.example.com/pay", {
      method: "POST",
      headers: {
        "x-api-key": clientComponentKey,
        authorization: `Bearer ${stripeKey}`,
        "x-config": process.env.PAYMENTS_KEY ?? "",
        "x-public": process.env.NEXT_PUBLIC_URBACKEND_KEY ?? "",
      },
    }).then(() => saveCart());
  return <button onClick={pay}>pay</button>;
}

"use server";

const serverActionKey = "__KEYSCAN_MBK_next_use_server__";

export async function saveCart() {
  await fetch("https://api.example.com/cart", { method: "POST", headers: { "x-api-key": serverActionKey } });
}

import { NextResponse } from "next/server";

const middlewareKey = "__KEYSCAN_MBK_next_middleware__";

export async function middleware() {
  await fetch("https://api.example.com/audit", { headers: { "x-api-key": middlewareKey } }).catch(() => null);
  return NextResponse.next();
}

export const config = { matcher: "/checkout" };

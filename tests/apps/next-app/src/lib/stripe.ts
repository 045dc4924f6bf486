// Shared: imported by the route handler (server) and by a "use client" component.
export const stripeKey = "__KEYSCAN_STRIPESK_next_shared_lib__";

export function stripeHeaders() {
  return { authorization: `Bearer ${stripeKey}` };
}

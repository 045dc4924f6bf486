// Pages router: the component ships to the browser, getServerSideProps does not.
const pageComponentKey = "__KEYSCAN_MBK_next_pages_component__";
const serverPropsKey = "__KEYSCAN_MBK_next_pages_server_props__";

export async function getServerSideProps() {
  const res = await fetch("https://api.example.com/props", { headers: { "x-api-key": serverPropsKey } }).catch(() => null);
  return { props: { ok: Boolean(res) } };
}

export default function Legacy({ ok }: { ok: boolean }) {
  const ping = () => fetch("https://api.example.com/ping", { headers: { "x-api-key": pageComponentKey } });
  return <button onClick={ping}>{ok ? "ok" : "down"}</button>;
}

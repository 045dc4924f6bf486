import { definedKey, envKey, prefixKey } from "./config.js";

const componentKey = "__KEYSCAN_MBK_vite_react_component__";

export default function App() {
  const load = () =>
    fetch("https://api.example.com/items", {
      headers: { "x-api-key": componentKey, "x-a": definedKey, "x-b": envKey, "x-c": prefixKey },
    });
  return <button onClick={load}>load</button>;
}

// A Node server beside the Vite app; nothing in the browser imports it.
import http from "node:http";

const serverKey = "__KEYSCAN_MBK_vite_node_server__";

http
  .createServer((req, res) => {
    fetch("https://api.example.com/admin", { headers: { "x-api-key": serverKey } }).then(() => res.end("ok"));
  })
  .listen(3000);

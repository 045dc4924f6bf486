// The app's code lives in app/, not src/: index.html decides what ships.
import { createApp } from "vue";
import App from "./App.vue";

createApp(App).mount("#app");

if (import.meta.env.VITE_MINIBACK_KEY) {
  window.__MINIBACK_KEY__ = import.meta.env.VITE_MINIBACK_KEY;
}

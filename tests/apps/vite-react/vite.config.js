import { defineConfig, loadEnv } from "vite";

// loadEnv with an empty prefix reads every variable of .env, not only VITE_ ones,
// and `define` inlines the value into the client bundle.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), "");
  return {
    envPrefix: ["VITE_", "APP_"],
    esbuild: { jsx: "automatic" },
    define: {
      __MINIBACK_KEY__: JSON.stringify(env.MINIBACK_API_KEY),
    },
  };
});

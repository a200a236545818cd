import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The editor is served by `pypes serve` at `/` with its files under `/assets/`;
// in development, `PYPES_URL=http://127.0.0.1:8080 npm run dev` proxies the API there.
const api = process.env.PYPES_URL ?? "http://127.0.0.1:8080";
const apiPaths = ["/filters", "/wires", "/graph", "/docs", "/stats", "/events", "/health", "/sinks", "/trigger"];

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets", chunkSizeWarningLimit: 1000 },
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: true }])) },
});

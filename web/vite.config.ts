import { defineConfig } from "vite";

// Preact through esbuild's automatic JSX runtime: no Babel, no plugin.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../src/voicebridge/web_dist",
    emptyOutDir: true,
    target: "es2020",
    assetsDir: "assets",
    // No inline scripts or data: URLs, so the Content-Security-Policy can stay strict.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});

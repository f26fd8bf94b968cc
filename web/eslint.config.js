// ESLint (flat config) for the explorer page, src/vaelab/web/ (ES modules in the browser, no bundler).
// Run from web/: npm run lint (or make lint-web from the repository root).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["**/vendor/**", "**/node_modules/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }],
    },
  },
  // the boot watchdog is a classic script (it must run where modules cannot: a page opened from file://)
  { files: ["**/boot.js"], languageOptions: { sourceType: "script" } },
];

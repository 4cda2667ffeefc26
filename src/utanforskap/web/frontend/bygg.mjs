// Copies the front-end libraries' dist files from node_modules into the Python package's
// static folder (served locally by the app; no CDN). Run by `npm run bygg` after `npm ci`.
//   maplibre-gl      the maps
//   swagger-ui-dist  the interactive API documentation on /docs
import { copyFileSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "static", "vendor");
const packages = {
  // The ES module loads its worker from the same folder (new URL("./maplibre-gl-worker.mjs", import.meta.url)).
  "maplibre-gl": [
    ["dist/maplibre-gl.mjs", "maplibre-gl.mjs"],
    ["dist/maplibre-gl-worker.mjs", "maplibre-gl-worker.mjs"],
    ["dist/maplibre-gl.css", "maplibre-gl.css"],
    ["LICENSE.txt", "LICENSE.txt"],
  ],
  "swagger-ui-dist": [
    ["swagger-ui-bundle.js", "swagger-ui-bundle.js"],
    ["swagger-ui.css", "swagger-ui.css"],
    ["LICENSE", "LICENSE"],
    ["NOTICE", "NOTICE"],
  ],
};
const folders = { "maplibre-gl": "maplibre-gl", "swagger-ui-dist": "swagger-ui" };

let copied = 0;
for (const [name, files] of Object.entries(packages)) {
  const source = join(here, "node_modules", name);
  if (!existsSync(source)) {
    console.error(`${source} saknas: kör först npm ci i ${here}`);
    process.exit(1);
  }
  const target = join(vendor, folders[name]);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const [from, to] of files) {
    copyFileSync(join(source, from), join(target, to));
    copied += 1;
  }
}
console.log(`Kopierade ${copied} filer till ${vendor}`);

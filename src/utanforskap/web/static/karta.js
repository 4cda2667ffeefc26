// The maps: kommun (and, where a geometry exists, RegSO) polygons coloured by the variable
// chosen in the form. Configuration and legends come from the page (server-rendered JSON),
// so the legend on the page and the colours on the map come from the same definition.
import * as maplibregl from "./vendor/maplibre-gl/maplibre-gl.mjs";

const LOCALE = {
  "Map.Title": "Karta",
  "NavigationControl.ZoomIn": "Zooma in",
  "NavigationControl.ZoomOut": "Zooma ut",
  "NavigationControl.ResetBearing": "Återställ norr uppåt",
  "ScaleControl.Kilometers": "km",
  "ScaleControl.Meters": "m",
};
const BACKGROUND = "#dbe6ee";

// As the server writes them (utanforskap.formatting): a share as a percentage with one
// decimal, like the legend ("12,3 %"), other numbers with up to two decimals.
function formatValue(v, typ) {
  if (v === null || v === undefined) return "uppgift saknas";
  if (typeof v !== "number") return String(v);
  if (typ === "andel") {
    return (100 * v).toLocaleString("sv-SE", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + "\u00a0%";
  }
  return v.toLocaleString("sv-SE", { maximumFractionDigits: 2 });
}

function setUp(container) {
  const cfg = JSON.parse(document.getElementById(container.dataset.karta).textContent);
  const layers = Object.fromEntries(cfg.lager.map((l) => [l.variabel, l]));
  let chosen = cfg.vald;

  const map = new maplibregl.Map({
    container,
    style: {
      version: 8,
      sources: {},
      layers: [{ id: "bakgrund", type: "background", paint: { "background-color": BACKGROUND } }],
    },
    bounds: cfg.bounds,
    fitBoundsOptions: { padding: 24 },
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    maxPitch: 0,
    locale: LOCALE,
  });
  map.getCanvas().setAttribute("aria-label", container.dataset.beskrivning || "Karta");
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  if (cfg.hela) map.addControl(wholeCountry(cfg.hela), "top-left");
  map.touchZoomRotate.disableRotation();

  map.on("load", () => {
    map.addSource("kommuner", { type: "geojson", data: cfg.kommuner });
    // Under RegSO polygons the kommuner are only context: a neutral grey.
    const kommunFill = cfg.regso ? "#e4e4e1" : layers[chosen].uttryck;
    map.addLayer({
      id: "kommuner-yta",
      type: "fill",
      source: "kommuner",
      paint: { "fill-color": kommunFill, "fill-opacity": cfg.markera_kommun && !cfg.regso ? 0.55 : 1 },
    });
    map.addLayer({
      id: "kommuner-grans",
      type: "line",
      source: "kommuner",
      paint: { "line-color": "#4d4d4d", "line-width": 0.4 },
    });
    if (cfg.markera_kommun) {
      const only = ["==", ["get", "kommun_kod"], cfg.markera_kommun];
      if (!cfg.regso) {
        map.addLayer({ id: "kommun-vald", type: "fill", source: "kommuner", filter: only, paint: { "fill-color": layers[chosen].uttryck } });
      }
      map.addLayer({ id: "kommun-kant", type: "line", source: "kommuner", filter: only, paint: { "line-color": "#1a1a1a", "line-width": 2.5 } });
    }
    if (cfg.regso) {
      map.addSource("regso", { type: "geojson", data: cfg.regso });
      map.addLayer({ id: "regso-yta", type: "fill", source: "regso", paint: { "fill-color": layers[chosen].uttryck } });
      map.addLayer({ id: "regso-grans", type: "line", source: "regso", paint: { "line-color": "#333", "line-width": 0.6 } });
      if (cfg.markera_omrade) {
        map.addLayer({
          id: "omrade-kant", type: "line", source: "regso",
          filter: ["==", ["get", "regso_kod"], cfg.markera_omrade],
          paint: { "line-color": "#000", "line-width": 3.5 },
        });
      }
    }
    hover(map, container, cfg);
  });
  map.once("idle", () => container.setAttribute("data-renderad", "ja"));

  const form = document.querySelector("[data-kartval]");
  if (form) {
    const select = form.querySelector("select");
    const apply = () => {
      if (!layers[select.value]) return;
      chosen = select.value;
      const target = cfg.regso ? "regso-yta" : (cfg.markera_kommun ? "kommun-vald" : "kommuner-yta");
      map.setPaintProperty(target, "fill-color", layers[chosen].uttryck);
      if (cfg.markera_kommun && !cfg.regso) map.setPaintProperty("kommuner-yta", "fill-color", layers[chosen].uttryck);
      for (const el of document.querySelectorAll("[data-legend]")) el.hidden = el.dataset.legend !== chosen;
      const drawn = chosen;
      map.once("idle", () => container.setAttribute("data-renderad-variabel", drawn));
      const url = new URL(window.location.href);
      url.searchParams.set("variabel", chosen);
      history.replaceState(null, "", url);
    };
    select.addEventListener("change", apply);
    form.addEventListener("submit", (ev) => { ev.preventDefault(); apply(); });
  }
}

// A button that fits the map to all of Sweden (the home map opens on the south).
function wholeCountry(bounds) {
  return {
    onAdd(map) {
      const box = document.createElement("div");
      box.className = "maplibregl-ctrl maplibregl-ctrl-group";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "hela-sverige";
      button.textContent = "Hela Sverige";
      button.addEventListener("click", () => map.fitBounds(bounds, { padding: 16 }));
      box.appendChild(button);
      return box;
    },
    onRemove() {},
  };
}

function hover(map, container, cfg) {
  const info = container.parentElement.querySelector("[data-kartinfo]");
  const layer = cfg.regso ? "regso-yta" : "kommuner-yta";
  const nameKey = cfg.regso ? "regso_namn" : "kommun_namn";
  const codeKey = cfg.regso ? "regso_kod" : "kommun_kod";
  const page = cfg.regso ? "/omrade/" : "/kommun/";
  // The polygon under the pointer gets a thick outline (a filter on one code; none at first).
  const none = ["==", ["get", codeKey], ""];
  map.addLayer({
    id: "markering", type: "line", source: cfg.regso ? "regso" : "kommuner", filter: none,
    paint: { "line-color": "#000000", "line-width": 3 },
  });
  map.on("mousemove", layer, (e) => {
    const p = e.features[0].properties;
    if (container.dataset.markerad !== p[codeKey]) {
      map.setFilter("markering", ["==", ["get", codeKey], p[codeKey]]);
      container.dataset.markerad = p[codeKey];
    }
    const variable = document.querySelector("[data-kartval] select")?.value || cfg.vald;
    const legend = cfg.lager.find((l) => l.variabel === variable);
    map.getCanvas().style.cursor = "pointer";
    if (info) info.textContent = `${p[nameKey]}: ${(legend?.rubrik || "").toLowerCase()} ${formatValue(p[variable], legend?.typ)}`;
  });
  map.on("mouseleave", layer, () => {
    map.setFilter("markering", none);
    delete container.dataset.markerad;
    map.getCanvas().style.cursor = "";
    if (info) info.textContent = "";
  });
  map.on("click", layer, (e) => {
    const code = e.features[0].properties[codeKey];
    if (code) window.location.href = page + code;
  });
}

for (const el of document.querySelectorAll("[data-karta]")) {
  try {
    setUp(el);
  } catch (err) {
    el.setAttribute("data-fel", String(err));
    el.insertAdjacentHTML("afterend", '<p class="hjalp">Kartan kunde inte visas i den här webbläsaren. Samma uppgifter finns i tabellerna på sidan.</p>');
  }
}

// The widget manager of the book's static pages. It shows the widget state a page stores
// (ipywidgets 8 controls and anywidget) with live sliders and no kernel. The widget manager
// that ipywidgets publishes for static pages, @jupyter-widgets/html-manager, also carries
// ipywidgets 7 and JupyterLab's output area, which the book never shows: 3.6 MB against
// this bundle's fraction of it (tools/web_assets.py builds it with esbuild).
import * as base from "@jupyter-widgets/base";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import * as controls from "@jupyter-widgets/controls";
import "@jupyter-widgets/controls/css/labvariables.css";
import "@jupyter-widgets/controls/css/widgets-base.css";
import { Widget } from "@lumino/widgets";
import "@lumino/widgets/style/index.css";
import "anywidget-front-end";
import { anywidget } from "./anywidget-module.js";

const MODULES = { "@jupyter-widgets/base": base, "@jupyter-widgets/controls": controls, anywidget };

class StaticManager extends ManagerBase {
  async loadClass(className, moduleName, moduleVersion) {
    const found = MODULES[moduleName]?.[className];
    if (!found) {
      throw new Error(`this page cannot show ${moduleName}@${moduleVersion}'s ${className}: ` +
        `its widget manager holds ${Object.keys(MODULES).join(", ")}`);
    }
    return found;
  }

  _create_comm() {
    return Promise.reject(new Error("a static page has no kernel to talk to"));
  }

  _get_comm_info() {
    return Promise.resolve({});
  }
}

// The widgets' stylesheet, which esbuild writes beside this script; it must be in force before
// the widgets are drawn, or they would be drawn unstyled first.
const stylesheet = Object.assign(document.createElement("link"), {
  rel: "stylesheet",
  href: new URL("manager.css", document.currentScript.src).href,
});
const styled = new Promise((resolve) => {
  stylesheet.addEventListener("load", resolve);
  stylesheet.addEventListener("error", resolve);
});
document.head.append(stylesheet);

/**
 * Resolves once `area` shows each panel the preview drew: an element with the panel's classes
 * and content. Widgets draw asynchronously, after their views exist; a widget that never
 * draws gets `patience` milliseconds.
 */
function drawnLike(area, preview, patience = 10_000) {
  const selectors = [...preview.querySelectorAll(".widget-vbox > .jupyter-widgets")].map(
    // the preview's own class aside: the live element is an anywidget without it
    (panel) =>
      [...panel.classList]
        .filter((name) => name !== "jupyter-widgets")
        .map((name) => `.${CSS.escape(name)}`)
        .join(""),
  );
  const drawn = () =>
    selectors.every((selector) => area.querySelector(selector)?.childElementCount > 0);
  return new Promise((resolve) => {
    const done = () => {
      observer.disconnect();
      resolve();
    };
    const observer = new MutationObserver(() => drawn() && done());
    observer.observe(area, { childList: true, subtree: true, attributes: true });
    if (drawn()) done();
    setTimeout(done, patience);
  });
}

/** Replace each widget view a page stores by the live widget, as a `widget-subarea`. */
async function renderWidgets() {
  const stored = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  if (!stored) return;
  await styled;
  const manager = new StaticManager();
  await manager.set_state(JSON.parse(stored.textContent));
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  for (const tag of views) {
    const model = await manager.get_model(JSON.parse(tag.textContent).model_id);
    const view = await manager.create_view(model);
    const area = document.createElement("div");
    area.className = "widget-subarea";
    // The picture preview.js drew in the meantime, if any, gives way to the live widget once
    // that has drawn, hidden until then: the reader sees no gap and no second copy.
    const preview = tag.previousElementSibling?.classList.contains("widget-preview")
      ? tag.previousElementSibling : null;
    if (preview) area.style.display = "none";
    tag.before(area);
    Widget.attach(view.luminoWidget, area);
    if (preview) {
      await drawnLike(area, preview);
      preview.dispatchEvent(new Event("widget-live"));
      preview.remove();
      area.style.display = "";
    }
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", renderWidgets);
} else {
  renderWidgets();
}

// anywidget's front end, as the anywidget wheel ships it (an AMD module that asks for
// @jupyter-widgets/base), handed the bundled base module instead of a module loader.
import * as base from "@jupyter-widgets/base";

export let anywidget;

export function define(dependencies, factory) {
  anywidget = factory(base);
}

/** Entry of the SPA bundle (web/spa_build.ts): renders the app into #app. */
import { render } from "preact";
import { App } from "./app.tsx";
import { ErrorBoundary } from "./error_boundary.tsx";

const root = document.getElementById("app")!;
root.textContent = "";
render(
  <ErrorBoundary what="the admin panel">
    <App />
  </ErrorBoundary>,
  root,
);

/**
 * The SPA's shell: asks whether there is a session, shows the login or the pages, keeps
 * the live status from /api/stream and routes by the URL hash (#/, #/rules, #/events,
 * #/timeline, #/replication).
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, type Event, onUnauthorized, openStream, type PanelStatus } from "./api.ts";
import { ErrorBoundary } from "./error_boundary.tsx";
import { EventsPage } from "./events.tsx";
import { Login } from "./login.tsx";
import { OverviewPage } from "./overview.tsx";
import { ReplicationPage } from "./replication.tsx";
import { RulesPage } from "./rules.tsx";
import { TimelinePage } from "./timeline.tsx";
import { addTrafficSample, type TrafficHistory } from "./traffic.tsx";

const PAGES = [
  { hash: "#/", label: "Overview" },
  { hash: "#/rules", label: "Port rules" },
  { hash: "#/events", label: "Events" },
  { hash: "#/timeline", label: "Timeline" },
  { hash: "#/replication", label: "Replication" },
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

export function App() {
  const [auth, setAuth] = useState<"unknown" | "out" | "in">("unknown");
  const [bootError, setBootError] = useState<string | undefined>();
  useEffect(() => {
    api.session().then((ok) => setAuth(ok ? "in" : "out"), (e) => setBootError(e.message));
    return onUnauthorized(() => setAuth("out"));
  }, []);
  if (bootError) return <p class="notice error" role="alert">{bootError}</p>;
  if (auth === "unknown") return <p class="boot">Loading…</p>;
  if (auth === "out") return <Login onLogin={() => setAuth("in")} />;
  return <Shell onLogout={() => setAuth("out")} />;
}

function Shell({ onLogout }: { onLogout: () => void }) {
  const hash = useHash();
  const [status, setStatus] = useState<PanelStatus | undefined>();
  const [connection, setConnection] = useState<"live" | "reconnecting" | "closed">("reconnecting");
  // A notice belongs to the page that raised it: it is shown only on that page, from the
  // very render that switches pages (an effect clearing it would leave one frame).
  const [notice, setNotice] = useState<{ text: string; page: string } | undefined>();
  const [traffic, setTraffic] = useState<TrafficHistory | undefined>();
  const listeners = useRef(new Set<(e: Event) => void>());

  useEffect(() =>
    openStream({
      // The stream sends bucket owners only when they change: keep the last ones.
      status: (s) =>
        setStatus((old) => ({ ...s, bucketOwners: s.bucketOwners ?? old?.bucketOwners })),
      event: (e) => listeners.current.forEach((fn) => fn(e)),
      traffic: (t) => setTraffic((h) => addTrafficSample(h, t)),
      connection: setConnection,
    }), []);
  useEffect(() => setNotice(undefined), [hash]);
  const notify = useCallback((text: string) => setNotice({ text, page: hash }), [hash]);
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(undefined), 6000);
    return () => clearTimeout(t);
  }, [notice]);

  const subscribe = useCallback((fn: (e: Event) => void) => {
    listeners.current.add(fn);
    return () => listeners.current.delete(fn);
  }, []);
  const hosts = status
    ? [...status.hosts].sort((a, b) => Number(b.self) - Number(a.self)).map((h) => h.name)
    : [];
  const page = PAGES.find((p) => p.hash === hash) ?? PAGES[0];

  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <span class="brand">appliance</span>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.hash} href={p.hash} aria-current={p === page ? "page" : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <span class={`conn conn-${connection}`} role="status">
          {connection === "live"
            ? "live"
            : connection === "closed"
            ? "disconnected"
            : "connecting…"}
        </span>
        <button
          type="button"
          onClick={() => api.logout().finally(onLogout)}
        >
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <div aria-live="polite">
          {notice?.page === hash && <p class="notice ok">{notice.text}</p>}
        </div>
        <ErrorBoundary key={page.hash} what={`the ${page.label} page`}>
          {page.hash === "#/rules"
            ? <RulesPage notify={notify} />
            : page.hash === "#/events"
            ? <EventsPage hosts={hosts} subscribe={subscribe} />
            : page.hash === "#/timeline"
            ? <TimelinePage />
            : page.hash === "#/replication"
            ? <ReplicationPage notify={notify} />
            : status
            ? <OverviewPage status={status} traffic={traffic} notify={notify} />
            : <p>Waiting for the cluster status…</p>}
        </ErrorBoundary>
      </main>
    </>
  );
}

import assert from "node:assert/strict";
import { options } from "preact";
import { renderToString } from "preact-render-to-string";
import { HostsTable } from "../../../web/ui/hosts_table.tsx";
import { EventsTable } from "../../../web/ui/events.tsx";
import { RuleForm, RulesTable } from "../../../web/ui/rules.tsx";
import { ErrorBoundary } from "../../../web/ui/error_boundary.tsx";
import { Overview } from "../../../web/ui/overview.tsx";
import { LoginForm } from "../../../web/ui/login.tsx";
import type { PanelStatus } from "../../../web/api/status_api.ts";
import { fake } from "../_fake_deps.ts";

// Lets renderToString run error boundaries, as the browser does.
(options as { errorBoundaries?: boolean }).errorBoundaries = true;

function status(over: Partial<PanelStatus> = {}): PanelStatus {
  const f = fake();
  f.states.web2 = "draining";
  f.states.web3 = "unreachable";
  return { ...f.deps.status(), at: 0, ...over };
}

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

Deno.test("HostsTable shows each host's state, heartbeat age and share", () => {
  const html = renderToString(<HostsTable hosts={status().hosts} onAction={() => {}} />);
  const t = text(html);
  assert.match(t, /web1 this host 198\.18\.0\.1 1 50 converged healthy this host 33\.3 %/);
  assert.match(t, /web2 198\.18\.0\.2 2 50 draining healthy 40 ms 33\.3 %/);
  assert.match(html, /class="state state-unreachable">unreachable</);
  assert.match(html, /aria-label="Command for web3"/);
});

Deno.test("HostsTable shows the content generation each host serves, marking those behind", () => {
  const [web1, web2, web3] = status().hosts;
  const hosts = [{ ...web1, generation: 5 }, { ...web2, generation: 4 }, {
    ...web3,
    generation: 0,
  }];
  const html = renderToString(<HostsTable hosts={hosts} />);
  assert.match(html, /<th scope="col" class="num">Content<\/th>/);
  assert.match(html, /<td class="num">5<\/td>/);
  assert.match(html, /<td class="num warn">4 \(behind\)<\/td>/);
  assert.match(html, /<td class="num warn">— \(behind\)<\/td>/);
  const none = renderToString(<HostsTable hosts={hosts.map((h) => ({ ...h, generation: 0 }))} />);
  assert.equal((none.match(/<td class="num">—<\/td>/g) ?? []).length, 3, "no replication: dashes");
});

Deno.test("HostsTable shows each host's health, with this host's reason as tooltip and text", () => {
  const [web1, web2, web3] = status().hosts;
  const hosts = [
    { ...web1, health: "unhealthy" as const, healthReason: "GET http://127.0.0.1/ timed out" },
    { ...web2, health: "healthy" as const },
    { ...web3, health: "unknown" as const },
  ];
  const html = renderToString(<HostsTable hosts={hosts} />);
  assert.match(
    html,
    /<span class="health health-unhealthy" title="GET http:\/\/127\.0\.0\.1\/ timed out">unhealthy<\/span><div class="hint">GET http:\/\/127\.0\.0\.1\/ timed out<\/div>/,
  );
  assert.match(html, /<span class="health health-healthy">healthy<\/span><\/td>/);
  assert.match(html, /<span class="health health-unknown">unknown<\/span>/);
  assert.match(text(html), /web3 198\.18\.0\.3 3 50 unreachable unknown 40 ms/);
});

Deno.test("Overview draws a bucket grid per rule when owners are known", () => {
  const html = renderToString(
    <Overview status={status({ bucketOwners: { default: [101, 101, 102, 0] } })} />,
  );
  assert.match(html, /<svg viewBox="0 0 2 2" role="img"/);
  assert.match(text(html), /Rule default: 4 buckets; web1 2, web2 1, unassigned 1/);
  assert.equal((html.match(/<rect /g) ?? []).length, 3, "the two web1 buckets are one run");
  assert.match(text(html), /Cluster IP 198\.18\.0\.10/);
  assert.doesNotMatch(html, /aria-label="Command for/, "no actions without onAction");
});

Deno.test("Overview falls back to share bars without bucket owners, and says so", () => {
  const html = renderToString(<Overview status={status()} />);
  assert.match(html, /class="share-bars"/);
  assert.match(text(html), /does not report the owner of each bucket/);
});

Deno.test("EventsTable lists events with time, level and message; says when none match", () => {
  const html = renderToString(
    <EventsTable
      events={[{
        id: 1,
        ts: Date.UTC(2026, 0, 31, 12),
        host: "web1",
        level: "error",
        kind: "peer.down",
        message: "web3 is <down>",
        details: {},
      }]}
    />,
  );
  assert.match(html, /<time datetime="2026-01-31T12:00:00.000Z">/);
  assert.match(html, /class="level level-error">error</);
  assert.match(html, /web3 is &lt;down>/, "messages are escaped");
  assert.match(renderToString(<EventsTable events={[]} />), /No events match/);
});

Deno.test("RuleForm shows the validation messages it is given, as an alert", () => {
  const html = renderToString(
    <RuleForm
      errors={["rules web and alt overlap; give them disjoint port ranges"]}
      onSubmit={() => {}}
      onCancel={() => {}}
    />,
  );
  assert.match(html, /role="alert"/);
  assert.match(html, /rules web and alt overlap; give them disjoint port ranges/);
  assert.match(html, /aria-describedby="rule-errors"/);
  assert.match(text(html), /Add a rule/);
});

Deno.test("RuleForm edits an existing rule with its id fixed", () => {
  const rule = fake().deps.rules()[0];
  const html = renderToString(<RuleForm rule={rule} onSubmit={() => {}} onCancel={() => {}} />);
  assert.match(html, /Edit rule default/);
  assert.match(html, /name="id" value="default" disabled/);
  assert.match(html, /name="ports" value="0-65535"/);
});

Deno.test("RulesTable shows ports and dashes for fields of unshared rules", () => {
  const rules = [
    ...fake().deps.rules(),
    {
      id: "dns",
      portLo: 53,
      portHi: 53,
      protocol: "udp" as const,
      mode: "single" as const,
      affinity: "single" as const,
      load: "equal" as const,
    },
  ];
  const t = text(renderToString(<RulesTable rules={rules} />));
  assert.match(t, /default 0-65535 both multiple single equal/);
  assert.match(t, /dns 53 udp single — —/);
});

Deno.test("ErrorBoundary renders a message instead of a blank page", () => {
  function Broken(): never {
    throw new Error("status.hosts is undefined");
  }
  const error = console.error;
  console.error = () => {};
  try {
    const html = renderToString(
      <ErrorBoundary what="the overview">
        <Broken />
      </ErrorBoundary>,
    );
    assert.match(html, /role="alert"/);
    assert.match(text(html), /Something went wrong in the overview: status\.hosts is undefined/);
  } finally {
    console.error = error;
  }
});

Deno.test("LoginForm has a labelled password field and shows the server's error", () => {
  const html = renderToString(<LoginForm error="wrong password" onSubmit={() => {}} />);
  assert.match(html, /<label>Admin password<input name="password" type="password"/);
  assert.match(html, /role="alert" id="login-error">wrong password</);
});

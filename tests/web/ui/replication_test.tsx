import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import {
  HistoryTable,
  NotEnabled,
  PendingBanner,
  ReplicationHostsTable,
  ReplicationSummary,
} from "../../../web/ui/replication_view.tsx";
import { confirmText, ExporterForm } from "../../../web/ui/replication.tsx";
import { replicationStatus } from "../_fake_deps.ts";

const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

Deno.test("ReplicationSummary shows the exporter with its source, generations and consistency", () => {
  const t = text(renderToString(
    <ReplicationSummary status={replicationStatus({ offered: 6, consistency: "strict" })} />,
  ));
  assert.match(t, /Exporter web1 \/srv\/www/);
  assert.match(t, /Committed generation 5 Offered generation 6 Consistency strict/);
  assert.match(t, /Hosts up to date 1 of 3/);
});

Deno.test("ReplicationHostsTable shows generation, state, lag, a labelled progress bar and errors", () => {
  const html = renderToString(<ReplicationHostsTable hosts={replicationStatus().hosts} />);
  const t = text(html);
  assert.match(t, /web1 exporter 5 5 idle up to date — — \/var\/lib\/appliance\/content\/current/);
  assert.match(t, /web2 importer 4 4 fetching 1 generation behind, 4\.0 s/);
  assert.match(
    html,
    /<progress value="1048576" max="4194304" aria-label="web2: 1\.0 MB of 4\.0 MB fetched"/,
  );
  assert.match(t, /1\.0 MB of 4\.0 MB, 12 objects to go/);
  assert.match(html, /class="state state-error">error</);
  assert.match(t, /1 generation behind, 2 min — cannot stage generation 5: no space left/);
  assert.match(html, /role="region" aria-label="Replication by host"/);
});

Deno.test("PendingBanner tells why the generation is held and offers to publish it anyway", () => {
  const pending = {
    gen: 6,
    reason: "it removes more than 25 % of the files",
    removed: 60,
    total: 120,
  };
  const html = renderToString(<PendingBanner pending={pending} onPublish={() => {}} />);
  assert.match(html, /role="status"/);
  assert.match(
    text(html),
    /Generation 6 is held: it removes more than 25 % of the files\. It removes 60 of 120 files\./,
  );
  assert.match(html, /<button type="button" class="danger">Publish anyway…<\/button>/);
  assert.doesNotMatch(renderToString(<PendingBanner pending={pending} />), /<button/);
});

Deno.test("HistoryTable lists each kept generation with a rollback button but for the newest", () => {
  const s = replicationStatus();
  const html = renderToString(
    <HistoryTable history={s.history} offered={s.offered} onRollback={() => {}} />,
  );
  const t = text(html);
  assert.match(t, /5 \S+ \S+ 120 3\.0 MB 0 3 1 0 rollback of 3 newest/);
  assert.match(t, /4 \S+ \S+ 120 3\.0 MB 7 0 0 0 Roll back to this…/);
  assert.match(html, /aria-label="Roll back to generation 3"/);
  assert.doesNotMatch(html, /aria-label="Roll back to generation 5"/);
  assert.match(
    renderToString(<HistoryTable history={[]} offered={0} />),
    /No generation has been published yet/,
  );
});

Deno.test("NotEnabled names the commands that turn replication on", () => {
  const t = text(renderToString(<NotEnabled />));
  assert.match(t, /Directory replication is not enabled/);
  assert.match(t, /appliance init --content-source DIR/);
  assert.match(t, /appliance replication exporter HOST --source DIR/);
});

Deno.test("ExporterForm offers the hosts, with the current exporter and source filled in", () => {
  const s = replicationStatus();
  const html = renderToString(
    <ExporterForm hosts={s.hosts} exporter={s.exporter} onSubmit={() => {}} />,
  );
  assert.match(html, /<label>Host<select name="host">/);
  assert.match(html, /<option selected value="web1">web1<\/option>/);
  assert.match(html, /<option value="web3">web3<\/option>/);
  assert.match(html, /<label>Source directory<input name="source" value="\/srv\/www"/);
});

Deno.test("confirmText() explains each confirmed action", () => {
  const g = replicationStatus().history[2];
  const rollback = confirmText({ kind: "rollback", g });
  assert.equal(rollback.title, "Roll back to generation 3?");
  assert.match(text(renderToString(rollback.children)), /113 files\) is published again/);
  const release = confirmText({ kind: "release", gen: 6, removed: 60, total: 120 });
  assert.equal(release.confirmLabel, "Publish anyway");
  assert.match(text(renderToString(release.children)), /removes 60 of 120 files/);
  const move = confirmText({ kind: "exporter", host: "web2", source: "/srv/site" });
  assert.equal(move.title, "Move the exporter to web2?");
});

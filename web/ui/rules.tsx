/**
 * Port rules: `RulesTable` and `RuleForm` render from props; `RulesPage` loads the rules
 * and sends adds, edits and removals through api.ts.
 */
import { useEffect, useState } from "preact/hooks";
import type { PortRule } from "../../agent/cluster/config.ts";
import { api } from "./api.ts";
import { ConfirmDialog } from "./confirm_dialog.tsx";
import { checkRuleFields, type RuleFields } from "./format.ts";

const CHOICES = {
  protocol: ["tcp", "udp", "both"],
  mode: ["multiple", "single", "disabled"],
  affinity: ["none", "single", "network"],
  load: ["equal", "weighted"],
} as const;

const EMPTY: RuleFields = {
  id: "",
  ports: "",
  protocol: "both",
  mode: "multiple",
  affinity: "single",
  load: "equal",
};

export function ports(r: PortRule): string {
  return r.portLo === r.portHi ? String(r.portLo) : `${r.portLo}-${r.portHi}`;
}

export function fieldsOf(r: PortRule): RuleFields {
  const { id, protocol, mode, affinity, load } = r;
  return { id, ports: ports(r), protocol, mode, affinity, load };
}

export function RulesTable(
  { rules, onEdit, onRemove }: {
    rules: PortRule[];
    onEdit?: (r: PortRule) => void;
    onRemove?: (r: PortRule) => void;
  },
) {
  if (rules.length === 0) {
    return (
      <p>No rules: all traffic goes to the default host (the live host of highest priority).</p>
    );
  }
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Port rules">
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Ports</th>
            <th scope="col">Protocol</th>
            <th scope="col">Mode</th>
            <th scope="col">Affinity</th>
            <th scope="col">Load</th>
            {onEdit && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id}>
              <th scope="row">{r.id}</th>
              <td>{ports(r)}</td>
              <td>{r.protocol}</td>
              <td>{r.mode}</td>
              <td>{r.mode === "multiple" ? r.affinity : "—"}</td>
              <td>{r.mode === "multiple" ? r.load : "—"}</td>
              {onEdit && (
                <td class="buttons">
                  <button type="button" onClick={() => onEdit(r)} aria-label={`Edit rule ${r.id}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => onRemove?.(r)}
                    aria-label={`Remove rule ${r.id}`}
                  >
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface FormProps {
  /** The rule being edited; a new rule when undefined. */
  rule?: PortRule;
  /** Problems to show, e.g. those the server gave. */
  errors?: string[];
  busy?: boolean;
  onSubmit: (fields: RuleFields) => void;
  onCancel: () => void;
}

export function RuleForm({ rule, errors = [], busy, onSubmit, onCancel }: FormProps) {
  const [f, setF] = useState<RuleFields>(rule ? fieldsOf(rule) : EMPTY);
  const [local, setLocal] = useState<string[]>([]);
  const shown = local.length ? local : errors;
  const set = (k: keyof RuleFields) => (e: { currentTarget: { value: string } }) =>
    setF({ ...f, [k]: e.currentTarget.value });
  const shared = f.mode === "multiple";
  return (
    <form
      class="rule-form"
      aria-labelledby="rule-form-title"
      onSubmit={(e) => {
        e.preventDefault();
        const problems = checkRuleFields(f, !rule);
        setLocal(problems);
        if (!problems.length) onSubmit(f);
      }}
    >
      <h2 id="rule-form-title">{rule ? `Edit rule ${rule.id}` : "Add a rule"}</h2>
      {shown.length > 0 && (
        <div class="notice error" role="alert" id="rule-errors">
          <ul>{shown.map((p) => <li key={p}>{p}</li>)}</ul>
        </div>
      )}
      <div class="fields">
        <label>
          Id
          <input
            name="id"
            value={f.id}
            onInput={set("id")}
            disabled={!!rule}
            required
            pattern="[a-z0-9][a-z0-9_\-]{0,31}"
            aria-describedby={shown.length ? "rule-errors" : undefined}
          />
        </label>
        <label>
          Ports
          <input
            name="ports"
            value={f.ports}
            onInput={set("ports")}
            placeholder="443 or 8000-8080"
            required
            aria-describedby={shown.length ? "rule-errors" : undefined}
          />
        </label>
        {(Object.keys(CHOICES) as (keyof typeof CHOICES)[]).map((k) => (
          <label key={k}>
            {k[0].toUpperCase() + k.slice(1)}
            <select
              name={k}
              value={f[k]}
              onChange={set(k)}
              disabled={(k === "affinity" || k === "load") && !shared}
            >
              {CHOICES[k].map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          </label>
        ))}
      </div>
      <div class="buttons">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : rule ? "Save" : "Add rule"}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>Cancel</button>
      </div>
    </form>
  );
}

type Editing = { rule?: PortRule; errors: string[]; busy: boolean };

export function RulesPage({ notify }: { notify: (message: string) => void }) {
  const [rules, setRules] = useState<PortRule[] | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [editing, setEditing] = useState<Editing | undefined>();
  const [removing, setRemoving] = useState<{ rule: PortRule; busy: boolean; error?: string }>();

  const load = () =>
    api.rules().then((r) => {
      setRules(r.rules);
      setLoadError(undefined);
    }, (e) => setLoadError(e.message));
  useEffect(() => {
    load();
  }, []);

  const save = async (fields: RuleFields) => {
    if (!editing) return;
    setEditing({ ...editing, busy: true });
    try {
      const { id, ...rest } = fields;
      const r = editing.rule ? await api.updateRule(id, rest) : await api.addRule(fields);
      setEditing(undefined);
      notify(`rule ${id} saved: config version ${r.version}`);
      await load();
    } catch (e) {
      const err = e as Error & { problems?: string[] };
      setEditing({
        ...editing,
        busy: false,
        errors: err.problems?.length ? err.problems : [err.message],
      });
    }
  };

  const remove = async () => {
    if (!removing) return;
    setRemoving({ ...removing, busy: true });
    try {
      const r = await api.removeRule(removing.rule.id);
      setRemoving(undefined);
      notify(`rule ${removing.rule.id} removed: config version ${r.version}`);
      await load();
    } catch (e) {
      setRemoving({ ...removing, busy: false, error: (e as Error).message });
    }
  };

  return (
    <section aria-labelledby="rules-title">
      <h1 id="rules-title">Port rules</h1>
      <p class="hint">
        Rules may not overlap, except the default rule (all ports), which takes what no other rule
        covers. Each change becomes a new config version, pushed to every member.
      </p>
      {loadError && <p class="notice error" role="alert">{loadError}</p>}
      {rules === undefined && !loadError && <p>Loading…</p>}
      {rules && (
        <RulesTable
          rules={rules}
          onEdit={(rule) => setEditing({ rule, errors: [], busy: false })}
          onRemove={(rule) => setRemoving({ rule, busy: false })}
        />
      )}
      {editing
        ? (
          <RuleForm
            key={editing.rule?.id ?? "new"}
            rule={editing.rule}
            errors={editing.errors}
            busy={editing.busy}
            onSubmit={save}
            onCancel={() => setEditing(undefined)}
          />
        )
        : (
          <p>
            <button type="button" onClick={() => setEditing({ errors: [], busy: false })}>
              Add a rule
            </button>
          </p>
        )}
      {removing && (
        <ConfirmDialog
          title={`Remove rule ${removing.rule.id}?`}
          confirmLabel={`Remove ${removing.rule.id}`}
          busy={removing.busy}
          error={removing.error}
          onConfirm={remove}
          onCancel={() => setRemoving(undefined)}
        >
          <p>
            Ports {ports(removing.rule)}{" "}
            then fall under the default rule if there is one, or go to the default host.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/**
 * A modal confirmation (the native <dialog>: focus stays inside, Esc cancels). The
 * confirm button is not the default focus, so Enter alone does not run a command.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

interface Props {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  error?: string;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmDialog(p: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal?.();
    return () => d?.close?.();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        if (!p.busy) p.onCancel();
      }}
    >
      <h2 id="confirm-title">{p.title}</h2>
      <div>{p.children}</div>
      {p.error && <p class="notice error" role="alert">{p.error}</p>}
      <div class="buttons">
        <button type="button" autofocus onClick={p.onCancel} disabled={p.busy}>Cancel</button>
        <button type="button" class="danger" onClick={p.onConfirm} disabled={p.busy}>
          {p.busy ? "Working…" : p.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

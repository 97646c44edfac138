/**
 * The PromQL editor: CodeMirror 6 with `@prometheus-io/codemirror-promql` for highlighting,
 * linting, and completion of functions, metric names, label names and values fetched from
 * this collector's API (by GET, so every request is one curl could make).
 * Enter runs the query (unless a completion is open), Shift+Enter starts a new line.
 */
import { useEffect, useRef } from 'preact/hooks';
import { EditorState, Prec } from '@codemirror/state';
import {
  EditorView,
  keymap,
  placeholder,
  drawSelection,
  highlightSpecialChars,
} from '@codemirror/view';
import {
  defaultKeymap,
  history,
  historyKeymap,
  insertNewlineAndIndent,
} from '@codemirror/commands';
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
  completionStatus,
} from '@codemirror/autocomplete';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';

/** Colours close to Prometheus's own query editor. */
const promqlHighlight = HighlightStyle.define([
  { tag: tags.number, color: '#09885a' },
  { tag: tags.string, color: '#a31515' },
  { tag: tags.keyword, color: '#008080', fontWeight: 'bold' },
  { tag: tags.function(tags.variableName), color: '#008080' },
  { tag: tags.labelName, color: '#800000' },
  { tag: tags.operator, color: '#5b21b6' },
  { tag: tags.modifier, color: '#008080', fontWeight: 'bold' },
  { tag: tags.operatorKeyword, color: '#0550ae', fontWeight: 'bold' },
  { tag: tags.logicOperator, color: '#5b21b6', fontWeight: 'bold' },
  { tag: tags.comment, color: '#6a737d', fontStyle: 'italic' },
  { tag: tags.invalid, color: '#dc2626' },
]);

const editorTheme = EditorView.theme({
  '&': { fontSize: '13.5px', background: '#fff' },
  '&.cm-focused': { outline: 'none' },
  '.cm-content': {
    fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace",
    padding: '8px 0',
  },
  '.cm-line': { padding: '0 10px' },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': {
    fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace",
    maxHeight: '18em',
  },
  '.cm-completionDetail': { color: '#6b7280', fontStyle: 'normal', marginLeft: '1em' },
});

/** Text put into the editor from outside (history, an example, the URL); `seq` says when. */
export interface EditorLoad {
  text: string;
  seq: number;
}

export interface PromqlEditorProps {
  /**
   * The text to show at first, and again each time `seq` changes. The editor owns its text
   * otherwise: it reports edits through `onChange` and is never fed them back, since a
   * render that lags a fast typist would write an older text over a newer one.
   */
  load: EditorLoad;
  onChange: (text: string) => void;
  /** Enter (or Ctrl+Enter) pressed with no completion open. */
  onRun: () => void;
  /** The collector's base URL (`http://host:port/`) for completion of names and values. */
  apiUrl: string;
}

export function PromqlEditor({ load, onChange, onRun, apiUrl }: PromqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The callbacks change on every render; the editor is built once and reads them here.
  const callbacks = useRef({ onChange, onRun });
  callbacks.current = { onChange, onRun };

  useEffect(() => {
    const promql = new PromQLExtension().setComplete({
      remote: {
        url: apiUrl.replace(/\/$/, ''),
        httpMethod: 'GET',
        // Completion works with what the collector holds now; 1 h keeps the lookups cheap.
        lookbackInterval: 60 * 60 * 1000,
        cache: { maxAge: 60 * 1000 },
      },
    });
    const run = (v: EditorView): boolean => {
      if (completionStatus(v.state) === 'active') return false;
      callbacks.current.onRun();
      return true;
    };
    const state = EditorState.create({
      doc: load.text,
      extensions: [
        history(),
        drawSelection(),
        highlightSpecialChars(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        // After autocompletion(): with an open completion list, Enter picks the completion.
        Prec.highest(
          keymap.of([
            { key: 'Enter', run },
            {
              key: 'Mod-Enter',
              run: () => {
                callbacks.current.onRun();
                return true;
              },
            },
            { key: 'Shift-Enter', run: insertNewlineAndIndent },
          ]),
        ),
        keymap.of([
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...historyKeymap,
          ...completionKeymap,
        ]),
        syntaxHighlighting(promqlHighlight),
        promql.asExtension(),
        placeholder('Expression (press Enter to run, Shift+Enter for a new line)'),
        EditorView.lineWrapping,
        editorTheme,
        EditorView.updateListener.of((u) => {
          if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
        }),
      ],
    });
    const v = new EditorView({ state, parent: host.current! });
    view.current = v;
    v.focus();
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [apiUrl]);

  useEffect(() => {
    const v = view.current;
    if (v === null || v.state.doc.toString() === load.text) return;
    v.dispatch({
      changes: { from: 0, to: v.state.doc.length, insert: load.text },
      selection: { anchor: load.text.length },
    });
  }, [load.seq]);

  return <div class="q-editor" ref={host} data-testid="promql-editor" />;
}

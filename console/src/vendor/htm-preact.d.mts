// Types of the vendored htm@3.1.1 `preact/standalone.mjs` (Preact + hooks + htm in one module),
// only what the console uses.
export interface VNode {
  type: unknown;
  props: unknown;
  key: unknown;
}
export function html(strings: TemplateStringsArray, ...values: unknown[]): VNode;
export function render(vnode: VNode, parent: Element): void;
export function useState<S>(initial: S | (() => S)): [S, (value: S | ((previous: S) => S)) => void];
export function useEffect(effect: () => void | (() => void), inputs?: readonly unknown[]): void;
export function useLayoutEffect(effect: () => void | (() => void), inputs?: readonly unknown[]): void;
export function useRef<T>(initial: T): { current: T };
export function useMemo<T>(factory: () => T, inputs: readonly unknown[]): T;
export function useCallback<T extends (...args: never[]) => unknown>(callback: T, inputs: readonly unknown[]): T;

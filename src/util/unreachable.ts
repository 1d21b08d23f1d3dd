/** Marks a `switch` over a union as exhaustive: adding a member without handling it fails to compile. */
export function unreachable(value: never): never {
  throw new Error(`Unreachable: unexpected value ${JSON.stringify(value)}`);
}

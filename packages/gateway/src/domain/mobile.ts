/**
 * One spelling per mobile number, so that a mobile a sender wrote ("+86 138-0000-0001", "0086…", "138 0000 0001")
 * finds the person a directory sync listed ("13800000001"). DingTalk's lookup itself takes the +86 prefix and the
 * bare number alike; a mainland number is kept bare (DingTalk lists it so, its country in a field of its own), any
 * other keeps its "+" and country code.
 */
export function normalizeMobile(mobile: string): string {
  const compact = mobile.replace(/[\s\-()]/g, '');
  const mainland = /^(?:\+86|0086|86)?(1\d{10})$/.exec(compact);
  if (mainland) return mainland[1]!;
  return compact.replace(/^00/, '+');
}

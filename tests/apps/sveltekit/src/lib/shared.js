// Imported by +page.svelte: it ships.
export const sharedKey = "__KEYSCAN_MBK_svelte_lib_shared__";

// Each of these is inlined by Vite at build time.
export const definedKey = __MINIBACK_KEY__;
export const envKey = import.meta.env.VITE_MINIBACK_KEY;
export const prefixKey = import.meta.env.APP_URBACKEND_KEY;

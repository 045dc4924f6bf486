/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    // Variables starting with APP_PUBLIC_ (not PUBLIC_) are the public ones here.
    env: { publicPrefix: "APP_PUBLIC_" },
  },
};

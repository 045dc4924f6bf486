import { createRoot } from "react-dom/client";
import App from "./App.jsx";
import { track } from "../lib/analytics.js";

track("boot");
createRoot(document.getElementById("root")).render(<App />);

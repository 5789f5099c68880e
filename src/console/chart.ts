// Live line charts with uPlot (about 50 KiB minified, maintained, canvas based): a fixed window of
// the last points from the live feed; the numbers beside it say the latest values in text.
import uPlot from "uplot";
import { h } from "./dom.ts";

export interface Series {
  label: string;
  color: string;
}

const WINDOW = 120;

export interface LiveChart {
  el: HTMLElement;
  push(at: number, values: number[]): void;
  dispose(): void;
}

export function liveChart(title: string, series: Series[], unit: string): LiveChart {
  const data: number[][] = [[], ...series.map(() => [])];
  const latest = h("p", { class: "chart-latest", "aria-live": "off" });
  const holder = h("div", { class: "chart", role: "img", "aria-label": `${title} chart` });
  const el = h("figure", { class: "chart-box" }, h("figcaption", null, title), holder, latest);
  let plot: uPlot | undefined;
  const width = () => Math.max(260, Math.min(holder.clientWidth || 600, 900));
  const make = () => {
    plot = new uPlot(
      {
        width: width(),
        height: 180,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1, min)] } },
        axes: [{ stroke: "#333" }, { stroke: "#333", size: 60 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      },
      data as uPlot.AlignedData,
      holder,
    );
  };
  const resize = () => plot?.setSize({ width: width(), height: 180 });
  globalThis.addEventListener("resize", resize);
  return {
    el,
    push(at, values) {
      data[0]!.push(at / 1000);
      values.forEach((v, i) => data[i + 1]!.push(v));
      if (data[0]!.length > WINDOW) { for (const d of data) d.shift(); }
      if (!plot && holder.isConnected) make();
      plot?.setData(data as uPlot.AlignedData);
      latest.replaceChildren(
        ...series.map((s, i) =>
          h(
            "span",
            { class: "chart-value", "data-series": s.label },
            h("span", { class: "swatch", style: `background:${s.color}` }),
            `${s.label}: ${(values[i] ?? 0).toLocaleString("en")}${unit}`,
          )
        ),
      );
    },
    dispose() {
      globalThis.removeEventListener("resize", resize);
      plot?.destroy();
    },
  };
}

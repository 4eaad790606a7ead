// Type-checked with the generated types (`npm run check`): what a Node user writes.
import type { components, paths } from "./videogen";

type VideoSpec = components["schemas"]["VideoCreateRequest"];
type Accepted = paths["/api/v1/videocreate"]["post"]["responses"][202]["content"]["application/json"];
type ApiError = components["schemas"]["ErrorEnvelope"]["error"];

const spec: VideoSpec = {
    width: 640,
    height: 360,
    duration: 2,
    elements: [{ type: "text", text: "Hello", font_size: 48 }],
};

export async function createVideo(base: string, key: string): Promise<Accepted> {
    const response = await fetch(`${base}/api/v1/videocreate`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-API-Key": key },
        body: JSON.stringify(spec),
    });
    if (!response.ok) {
        const { error }: { error: ApiError } = await response.json();
        throw new Error(`${error.code}: ${error.message}`);
    }
    return (await response.json()) as Accepted;
}

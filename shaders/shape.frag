// ShapeMaterial (app/src/viewport/material.rs): flat colour, a headlight plus ambient,
// an optional rim highlight, and a clip region that splits fragments into kept and removed.
// Runs after three-d's mesh.vert, which provides the world position `pos` and normal `nor`.

uniform vec3 surfaceColor;      // linear RGB
uniform float alpha;
uniform float highlight;        // 0 or 1: adds a bright rim
uniform vec3 cameraPosition;
uniform vec3 lightDirection;    // unit vector towards the light, world space

uniform int clipMode;           // 0 none, 1 half-space, 2 octant
uniform vec3 clipNormal;        // half-space: normal·p > clipOffset is removed
uniform float clipOffset;
uniform vec3 octantSigns;       // octant: ±1 per axis; the octant with these signs is removed
uniform int clipSide;           // 0 draw the kept side only, 1 the removed side only, 2 both

in vec3 pos;
in vec3 nor;

layout (location = 0) out vec4 outColor;

bool isRemoved(vec3 p) {
    if (clipMode == 1) {
        return dot(clipNormal, p) > clipOffset;
    }
    if (clipMode == 2) {
        return all(greaterThan(p * octantSigns, vec3(0.0)));
    }
    return false;
}

void main()
{
    if (clipSide != 2 && (isRemoved(pos) != (clipSide == 1))) {
        discard;
    }

    vec3 toCamera = normalize(cameraPosition - pos);
    // Face the camera whatever the triangle winding: engine meshes may be wound either way.
    vec3 normal = normalize(nor);
    if (dot(normal, toCamera) < 0.0) {
        normal = -normal;
    }

    float diffuse = max(dot(normal, lightDirection), 0.0);
    // A little light from below keeps undersides from going flat black.
    float sky = 0.5 + 0.5 * normal.y;
    vec3 lit = surfaceColor * (0.22 + 0.13 * sky + 0.7 * diffuse);

    float rim = pow(1.0 - max(dot(normal, toCamera), 0.0), 2.0);
    lit += highlight * (0.25 * surfaceColor + vec3(0.9, 0.85, 0.5) * rim);

    outColor = vec4(color_mapping(lit), alpha);
}

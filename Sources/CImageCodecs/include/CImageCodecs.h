// PNG and JPEG decoding/encoding through libpng and libjpeg-turbo. Both libraries report errors by
// longjmp, which Swift cannot catch, so these wrappers turn every failure into a return code and a
// message. Pixel conversion, resizing and everything else live in Swift (CarinaData).
#ifndef CARINA_IMAGE_CODECS_H
#define CARINA_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A decoded image: rows top to bottom, interleaved channels, 1 (gray) or 3 (RGB) channels,
/// 8-bit samples (bytesPerSample 1) or 16-bit samples in host byte order (bytesPerSample 2).
typedef struct {
    int width;
    int height;
    int channels;
    int bytesPerSample;
    uint8_t *pixels;   // malloc'ed; release with carina_codec_free
} carina_image;

/// Returned by the decoders when the header's width x height is over `maxPixels`; `out->width` and
/// `out->height` then hold the header's size (clamped to INT32_MAX) and no pixels are allocated.
#define CARINA_CODEC_TOO_LARGE (-2)

/// Decodes a PNG held in memory. Palette images become RGB, gray below 8 bits becomes 8-bit gray,
/// alpha is dropped. Returns 0 on success; CARINA_CODEC_TOO_LARGE when the header's width x height is
/// over `maxPixels` (checked before any pixel buffer is allocated); otherwise fills `message`
/// (NUL-terminated) and returns -1.
int carina_png_decode(const uint8_t *data, size_t size, uint64_t maxPixels, carina_image *out, char *message,
                      size_t messageSize);

/// Decodes a JPEG held in memory; `gray` != 0 asks libjpeg for one luminance channel. Return values
/// and `maxPixels` as carina_png_decode.
int carina_jpeg_decode(const uint8_t *data, size_t size, int gray, uint64_t maxPixels, carina_image *out, char *message,
                       size_t messageSize);

/// Encodes `pixels` (layout as carina_image, 1 or 3 channels, 8 or 16 bits) as PNG into a malloc'ed buffer.
int carina_png_encode(const uint8_t *pixels, int width, int height, int channels, int bytesPerSample,
                      int compressionLevel, uint8_t **outData, size_t *outSize, char *message, size_t messageSize);

/// Encodes 8-bit gray or RGB pixels as baseline JPEG into a malloc'ed buffer.
int carina_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                       uint8_t **outData, size_t *outSize, char *message, size_t messageSize);

void carina_codec_free(void *pointer);

#ifdef __cplusplus
}
#endif
#endif

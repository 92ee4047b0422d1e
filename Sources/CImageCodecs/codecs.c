// libpng / libjpeg-turbo wrappers: setjmp-based error handling turned into return codes.
#include "CImageCodecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

static void set_message(char *message, size_t size, const char *text) {
    if (message && size > 0) {
        snprintf(message, size, "%s", text ? text : "unknown error");
    }
}

void carina_codec_free(void *pointer) { free(pointer); }

/* ---------------------------------------------------------------- PNG */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
} png_memory_reader;

typedef struct {
    jmp_buf jump;
    char text[256];
} png_error_state;

static void png_read_memory(png_structp png, png_bytep out, png_size_t count) {
    png_memory_reader *reader = (png_memory_reader *)png_get_io_ptr(png);
    if (reader->offset + count > reader->size) {
        png_error(png, "unexpected end of data (file truncated)");
    }
    memcpy(out, reader->data + reader->offset, count);
    reader->offset += count;
}

static void png_on_error(png_structp png, png_const_charp text) {
    png_error_state *state = (png_error_state *)png_get_error_ptr(png);
    snprintf(state->text, sizeof(state->text), "%s", text);
    longjmp(state->jump, 1);
}

static void png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

/* Whether width x height is over maxPixels; the sizes are reported through `out` for the caller's message. */
static int over_pixel_limit(uint32_t width, uint32_t height, uint64_t maxPixels, carina_image *out) {
    if ((uint64_t)width * (uint64_t)height <= maxPixels) return 0;
    out->width = (int)(width > INT32_MAX ? INT32_MAX : width);
    out->height = (int)(height > INT32_MAX ? INT32_MAX : height);
    return 1;
}

int carina_png_decode(const uint8_t *data, size_t size, uint64_t maxPixels, carina_image *out, char *message,
                      size_t messageSize) {
    memset(out, 0, sizeof(*out));
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_message(message, messageSize, "not a PNG file (bad signature)");
        return -1;
    }
    png_error_state state;
    state.text[0] = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_on_error, png_on_warning);
    if (!png) {
        set_message(message, messageSize, "libpng: out of memory");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(state.jump)) {
        set_message(message, messageSize, state.text[0] ? state.text : "libpng: decoding failed");
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return -1;
    }
    png_memory_reader reader = {data, size, 0};
    png_set_read_fn(png, &reader, png_read_memory);
    png_read_info(png, info);
    /* From the header, before any transformation or pixel buffer (the size does not change with them). */
    if (over_pixel_limit(png_get_image_width(png, info), png_get_image_height(png, info), maxPixels, out)) {
        int width = out->width, height = out->height;
        png_destroy_read_struct(&png, &info, NULL);
        out->width = width;
        out->height = height;
        set_message(message, messageSize, "image too large");
        return CARINA_CODEC_TOO_LARGE;
    }

    int colorType = png_get_color_type(png, info);
    int bitDepth = png_get_bit_depth(png, info);
    if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colorType == PNG_COLOR_TYPE_GRAY && bitDepth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (colorType & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (bitDepth == 16) png_set_swap(png); /* host (little-endian) order */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int width = (int)png_get_image_width(png, info);
    int height = (int)png_get_image_height(png, info);
    int channels = png_get_channels(png, info);
    int bytesPerSample = png_get_bit_depth(png, info) == 16 ? 2 : 1;
    if (channels != 1 && channels != 3) {
        png_error(png, "unsupported channel layout after conversion");
    }
    size_t rowBytes = png_get_rowbytes(png, info);
    if (rowBytes != (size_t)width * channels * bytesPerSample) {
        png_error(png, "unexpected row size");
    }
    pixels = (uint8_t *)malloc(rowBytes * (size_t)height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowBytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);

    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bytesPerSample = bytesPerSample;
    out->pixels = pixels;
    return 0;
}

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
} png_memory_writer;

static void png_write_memory(png_structp png, png_bytep in, png_size_t count) {
    png_memory_writer *writer = (png_memory_writer *)png_get_io_ptr(png);
    if (writer->size + count > writer->capacity) {
        size_t capacity = writer->capacity ? writer->capacity : 4096;
        while (capacity < writer->size + count) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(writer->data, capacity);
        if (!grown) png_error(png, "out of memory");
        writer->data = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->data + writer->size, in, count);
    writer->size += count;
}

static void png_flush_memory(png_structp png) { (void)png; }

int carina_png_encode(const uint8_t *pixels, int width, int height, int channels, int bytesPerSample,
                      int compressionLevel, uint8_t **outData, size_t *outSize, char *message, size_t messageSize) {
    *outData = NULL;
    *outSize = 0;
    if ((channels != 1 && channels != 3) || (bytesPerSample != 1 && bytesPerSample != 2) || width <= 0 || height <= 0) {
        set_message(message, messageSize, "png encode: unsupported layout");
        return -1;
    }
    png_error_state state;
    state.text[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_on_error, png_on_warning);
    if (!png) {
        set_message(message, messageSize, "libpng: out of memory");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    png_memory_writer writer = {NULL, 0, 0, 0};
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(state.jump)) {
        set_message(message, messageSize, state.text[0] ? state.text : "libpng: encoding failed");
        free(writer.data);
        free(rows);
        png_destroy_write_struct(&png, info ? &info : NULL);
        return -1;
    }
    png_set_write_fn(png, &writer, png_write_memory, png_flush_memory);
    png_set_compression_level(png, compressionLevel);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bytesPerSample * 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (bytesPerSample == 2) png_set_swap(png);
    size_t rowBytes = (size_t)width * channels * bytesPerSample;
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * rowBytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    *outData = writer.data;
    *outSize = writer.size;
    return 0;
}

/* ---------------------------------------------------------------- JPEG */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
} jpeg_error_state;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, state->text);
    longjmp(state->jump, 1);
}

static void jpeg_on_message(j_common_ptr cinfo) { (void)cinfo; }

/* Corrupt data produces warnings (e.g. "Premature end of JPEG file") and libjpeg fills the rest with
   grey; silently training on that would be training on garbage, so warnings are errors here. */
static void jpeg_on_warning(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_on_error(cinfo);
}

int carina_jpeg_decode(const uint8_t *data, size_t size, int gray, uint64_t maxPixels, carina_image *out, char *message,
                       size_t messageSize) {
    memset(out, 0, sizeof(*out));
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state state;
    state.text[0] = 0;
    cinfo.err = jpeg_std_error(&state.base);
    state.base.error_exit = jpeg_on_error;
    state.base.output_message = jpeg_on_message;
    state.base.emit_message = jpeg_on_warning;
    uint8_t *volatile pixels = NULL;
    if (setjmp(state.jump)) {
        set_message(message, messageSize, state.text[0] ? state.text : "libjpeg: decoding failed");
        free(pixels);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    /* From the header, before jpeg_start_decompress (which allocates whole-image buffers for progressive files). */
    if (over_pixel_limit(cinfo.image_width, cinfo.image_height, maxPixels, out)) {
        jpeg_destroy_decompress(&cinfo);
        set_message(message, messageSize, "image too large");
        return CARINA_CODEC_TOO_LARGE;
    }
    cinfo.out_color_space = (gray || cinfo.num_components == 1) ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int width = (int)cinfo.output_width;
    int height = (int)cinfo.output_height;
    int channels = cinfo.output_components;
    size_t rowBytes = (size_t)width * channels;
    pixels = (uint8_t *)malloc(rowBytes * (size_t)height);
    if (!pixels) {
        snprintf(state.text, sizeof(state.text), "out of memory");
        longjmp(state.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * rowBytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bytesPerSample = 1;
    out->pixels = pixels;
    return 0;
}

int carina_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                       uint8_t **outData, size_t *outSize, char *message, size_t messageSize) {
    *outData = NULL;
    *outSize = 0;
    if ((channels != 1 && channels != 3) || width <= 0 || height <= 0) {
        set_message(message, messageSize, "jpeg encode: unsupported layout");
        return -1;
    }
    struct jpeg_compress_struct cinfo;
    jpeg_error_state state;
    state.text[0] = 0;
    cinfo.err = jpeg_std_error(&state.base);
    state.base.error_exit = jpeg_on_error;
    state.base.output_message = jpeg_on_message;
    unsigned char *volatile buffer = NULL;
    unsigned long bufferSize = 0;
    if (setjmp(state.jump)) {
        set_message(message, messageSize, state.text[0] ? state.text : "libjpeg: encoding failed");
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    unsigned char *target = NULL;
    jpeg_mem_dest(&cinfo, &target, &bufferSize);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t rowBytes = (size_t)width * channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * rowBytes);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    buffer = target;
    jpeg_destroy_compress(&cinfo);
    *outData = buffer;
    *outSize = bufferSize;
    return 0;
}

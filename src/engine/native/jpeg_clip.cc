// Loads clips' frames in one job on libuv's thread pool (a share of a batch: one job per clip
// made a thread hand-off and a promise per image, which cost more CPU than decoding a small
// image itself). A frame is a JPEG file or pixels decoded earlier (the loader's frame cache);
// the job can hand back what it decoded at full size, for that cache. Each JPEG is decoded
// with libjpeg-turbo (with DCT scaling when the crop is much larger than the output), then
// warped (crop, scale, rotation, flip; bilinear; black outside) and normalised into the batch
// tensor's memory. Per frame this does what sharp plus a warp pass do, at a third of the CPU
// and off the JavaScript thread.
#include <node_api.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "jpeg_error.h"
#include "kernels.h"

namespace {

// Decodes `file` to RGB, shrunk by 1/denominator (1, 2, 4 or 8) during the DCT.
bool decode(const std::string& file, int denominator, std::vector<uint8_t>* rgb, int* width, int* height, std::string* why) {
  FILE* handle = std::fopen(file.c_str(), "rb");
  if (!handle) {
    *why = file + ": cannot open";
    return false;
  }
  jpeg_decompress_struct info;
  JpegError error;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = on_jpeg_error;
  if (setjmp(error.jump)) {
    *why = file + ": " + error.message;
    jpeg_destroy_decompress(&info);
    std::fclose(handle);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_stdio_src(&info, handle);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = denominator;
  info.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&info);
  *width = int(info.output_width);
  *height = int(info.output_height);
  rgb->resize(size_t(*width) * *height * 3);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb->data() + size_t(info.output_scanline) * *width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  std::fclose(handle);
  return true;
}

// One frame of a clip: a JPEG file, or RGB pixels the caller kept from an earlier decode.
struct FrameSource {
  std::string file;
  const uint8_t* pixels = nullptr;
  int width = 0, height = 0;
};

// One clip of a job: its frames, where they go, and how they are warped.
struct ClipPlan {
  std::vector<FrameSource> frames;
  double params[12];  // output -> source map in full-size frame coordinates, mean x3, std x3
  int denominator;
  int64_t offset;  // into the output, in floats
};

struct ClipJob {
  std::vector<ClipPlan> clips;
  int size;
  bool keep;  // hand back the frames decoded at full size
  std::vector<std::vector<uint8_t>> kept;  // per frame of the job, in order; empty when not kept
  std::vector<int> kept_sizes;  // width, height per frame
  float* out;
  std::string error;
  napi_ref frames_ref;  // keeps the cached pixels alive while the job runs
  napi_ref out_ref;     // and the output
  napi_deferred deferred;
  napi_async_work work;
};

// Warps a decoded frame (W x H, decoded at 1/denominator) into S x S normalised floats at `o`.
void warp_frame(const uint8_t* rgb, int W, int H, const double* p, int denominator, int S, float* o) {
  float scale[3], shift[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = float(1.0 / (255.0 * p[9 + c]));
    shift[c] = float(p[6 + c] / p[9 + c]);
  }
  const double k = 1.0 / denominator;  // full-size coordinates -> decoded coordinates
  for (int v = 0; v < S; ++v) {
    const double qy = v + 0.5;
    for (int u = 0; u < S; ++u) {
      const double qx = u + 0.5;
      const double sx = (p[0] * qx + p[1] * qy + p[4]) * k - 0.5;
      const double sy = (p[2] * qx + p[3] * qy + p[5]) * k - 0.5;
      const int x0 = int(sx < 0 ? sx - 1 : sx), y0 = int(sy < 0 ? sy - 1 : sy);  // floor
      const float fx = float(sx - x0), fy = float(sy - y0);
      const float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      float* dst = o + (size_t(v) * S + u) * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const uint8_t* a = rgb + (size_t(y0) * W + x0) * 3;
        const uint8_t* b = a + size_t(W) * 3;
        for (int c = 0; c < 3; ++c) dst[c] = (a[c] * w00 + a[c + 3] * w01 + b[c] * w10 + b[c + 3] * w11) * scale[c] - shift[c];
        continue;
      }
      for (int c = 0; c < 3; ++c) {
        float value = 0.f;
        auto tap = [&](int x, int y, float w) {
          if (x >= 0 && y >= 0 && x < W && y < H) value += rgb[(size_t(y) * W + x) * 3 + c] * w;
        };
        tap(x0, y0, w00);
        tap(x0 + 1, y0, w01);
        tap(x0, y0 + 1, w10);
        tap(x0 + 1, y0 + 1, w11);
        dst[c] = value * scale[c] - shift[c];
      }
    }
  }
}

void execute(napi_env, void* data) {
  auto* job = static_cast<ClipJob*>(data);
  std::vector<uint8_t> rgb;
  const int S = job->size;
  size_t index = 0;  // frame of the job
  for (const ClipPlan& clip : job->clips) {
    for (size_t f = 0; f < clip.frames.size(); ++f, ++index) {
      const FrameSource& frame = clip.frames[f];
      float* o = job->out + clip.offset + int64_t(f) * S * S * 3;
      if (frame.pixels) {
        warp_frame(frame.pixels, frame.width, frame.height, clip.params, 1, S, o);
        continue;
      }
      int W = 0, H = 0;
      if (!decode(frame.file, clip.denominator, &rgb, &W, &H, &job->error)) return;
      warp_frame(rgb.data(), W, H, clip.params, clip.denominator, S, o);
      if (job->keep && clip.denominator == 1) {
        job->kept[index] = rgb;
        job->kept_sizes[2 * index] = W;
        job->kept_sizes[2 * index + 1] = H;
      }
    }
  }
}

void complete(napi_env env, napi_status, void* data) {
  auto* job = static_cast<ClipJob*>(data);
  if (job->error.empty()) {
    napi_value result;
    if (job->keep) {
      // [{ pixels: Uint8Array, width, height } | null] per frame of the job.
      napi_create_array_with_length(env, job->kept.size(), &result);
      for (size_t i = 0; i < job->kept.size(); ++i) {
        napi_value entry;
        if (job->kept[i].empty()) {
          napi_get_null(env, &entry);
        } else {
          void* bytes = nullptr;
          napi_value buffer, pixels, width, height;
          napi_create_arraybuffer(env, job->kept[i].size(), &bytes, &buffer);
          std::memcpy(bytes, job->kept[i].data(), job->kept[i].size());
          napi_create_typedarray(env, napi_uint8_array, job->kept[i].size(), buffer, 0, &pixels);
          napi_create_int32(env, job->kept_sizes[2 * i], &width);
          napi_create_int32(env, job->kept_sizes[2 * i + 1], &height);
          napi_create_object(env, &entry);
          napi_set_named_property(env, entry, "pixels", pixels);
          napi_set_named_property(env, entry, "width", width);
          napi_set_named_property(env, entry, "height", height);
        }
        napi_set_element(env, result, uint32_t(i), entry);
      }
    } else {
      napi_get_undefined(env, &result);
    }
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, job->error.c_str(), job->error.size(), &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->frames_ref);
  napi_delete_reference(env, job->out_ref);
  napi_delete_async_work(env, job->work);
  delete job;
}

}  // namespace

// loadJpegClips(frames: (string | Uint8Array)[], params: Float64Array(12 x clips),
//               header: Int32Array[size, framesPerClip, clips, keep, (denominator, offset) x clips, (width, height) x frames],
//               out: Float32Array): Promise<void | ({ pixels: Uint8Array, width, height } | null)[]>
// Clip c's frames are frames[c * framesPerClip ...]: a JPEG file name, or RGB pixels decoded at
// full size earlier (width and height from the header; warped as if decoded at 1/1). With keep,
// the promise gives back each file frame decoded at full size (null where the clip decoded smaller).
napi_value LoadJpegClips(napi_env env, napi_callback_info info) {
  constexpr const char* usage =
      "loadJpegClips(frames: (string | Uint8Array)[], params: Float64Array(12 x clips), header: Int32Array[size, framesPerClip, clips, keep, (denominator, offset) x clips, (width, height) x frames], out: Float32Array)";
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool is_array = false;
  if (argc == 4) napi_is_array(env, argv[0], &is_array);
  void *params_raw = nullptr, *header_raw = nullptr, *out_raw = nullptr;
  size_t params_len = 0, header_len = 0, out_len = 0;
  napi_typedarray_type t1 = napi_int8_array, t2 = napi_int8_array, t3 = napi_int8_array;
  bool typed = is_array;
  for (int i = 1; typed && i < 4; ++i) napi_is_typedarray(env, argv[i], &typed);
  if (typed) {
    napi_get_typedarray_info(env, argv[1], &t1, &params_len, &params_raw, nullptr, nullptr);
    napi_get_typedarray_info(env, argv[2], &t2, &header_len, &header_raw, nullptr, nullptr);
    napi_get_typedarray_info(env, argv[3], &t3, &out_len, &out_raw, nullptr, nullptr);
  }
  const int32_t* h = static_cast<int32_t*>(header_raw);
  uint32_t count = 0;
  if (typed) napi_get_array_length(env, argv[0], &count);
  const bool shaped = typed && t2 == napi_int32_array && header_len >= 4 && h[1] >= 1 && h[2] >= 0 &&
                      count == uint32_t(h[1]) * uint32_t(h[2]) && header_len == 4 + 2 * size_t(h[2]) + 2 * size_t(count) &&
                      t1 == napi_float64_array && params_len == 12 * size_t(h[2]) && t3 == napi_float32_array;
  if (!shaped) {
    napi_throw_type_error(env, nullptr, usage);
    return nullptr;
  }
  auto* job = new ClipJob();
  job->size = h[0];
  job->keep = h[3] != 0;
  const int frames = h[1], clips = h[2];
  const int32_t* frame_sizes = h + 4 + 2 * clips;
  const size_t clip_values = size_t(frames) * job->size * job->size * 3;
  job->clips.resize(clips);
  if (job->keep) {
    job->kept.resize(count);
    job->kept_sizes.assign(2 * size_t(count), 0);
  }
  auto refuse = [&](napi_status (*thrower)(napi_env, const char*, const char*), const char* message) {
    delete job;
    thrower(env, nullptr, message);
    return nullptr;
  };
  for (int c = 0; c < clips; ++c) {
    ClipPlan& clip = job->clips[c];
    clip.denominator = h[4 + 2 * c];
    clip.offset = h[5 + 2 * c];
    if (clip.offset < 0 || size_t(clip.offset) + clip_values > out_len ||
        (clip.denominator != 1 && clip.denominator != 2 && clip.denominator != 4 && clip.denominator != 8)) {
      return refuse(napi_throw_range_error, "loadJpegClips: a clip's output lies outside the array, or its denominator is not 1, 2, 4 or 8");
    }
    std::memcpy(clip.params, static_cast<double*>(params_raw) + 12 * c, sizeof(clip.params));
    clip.frames.resize(frames);
    for (int f = 0; f < frames; ++f) {
      const uint32_t index = uint32_t(c * frames + f);
      FrameSource& frame = clip.frames[f];
      napi_value element;
      napi_get_element(env, argv[0], index, &element);
      bool is_pixels = false;
      napi_is_typedarray(env, element, &is_pixels);
      if (is_pixels) {
        napi_typedarray_type type;
        size_t length = 0;
        void* pixels = nullptr;
        napi_get_typedarray_info(env, element, &type, &length, &pixels, nullptr, nullptr);
        frame.width = frame_sizes[2 * index];
        frame.height = frame_sizes[2 * index + 1];
        if (type != napi_uint8_array || frame.width < 1 || frame.height < 1 || length != size_t(frame.width) * frame.height * 3) {
          return refuse(napi_throw_range_error, "loadJpegClips: cached pixels are not a Uint8Array of width x height x 3");
        }
        frame.pixels = static_cast<const uint8_t*>(pixels);
        continue;
      }
      if (!string_value(env, element, &frame.file)) return refuse(napi_throw_type_error, usage);
    }
  }
  job->out = static_cast<float*>(out_raw);
  napi_create_reference(env, argv[0], 1, &job->frames_ref);
  napi_create_reference(env, argv[3], 1, &job->out_ref);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "egtea.loadJpegClips", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

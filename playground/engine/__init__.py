"""The pure compute core: bank model, convolution, presets and bank files. Never imports Qt."""

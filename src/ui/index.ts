export { loadUiAssets, UI_ASSET_NAMES, type UiAsset } from './assets.js'
export { indexPage, playgroundPage, type ModelSummary } from './pages.js'

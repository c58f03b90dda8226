import { recommender } from './recommender.js'

export default recommender('trending')
